"""The portal's tests run on the signing tests' platform: SoftHSM2, the CA and TSA, the whole app on a port."""

from tests.signing.conftest import platform  # noqa: F401  (the session's platform fixture)
