"""PAdES signing with pyHanko. This package is the only importer of ``pyhanko`` in the platform.

``sign.py`` and the modules it uses belong to signing; the ``reading`` subpackage (reading a signed PDF into
facts for the verifier) and ``report_pdf.py`` (writing the verification report) belong to verification.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from signing.pades.sign import (
        LEVELS,
        DocumentFacts,
        Level,
        PadesEngine,
        PadesOptions,
        PadesResult,
        SignerMaterial,
        inspect_pdf,
    )

__all__ = [
    "LEVELS",
    "DocumentFacts",
    "Level",
    "PadesEngine",
    "PadesOptions",
    "PadesResult",
    "SignerMaterial",
    "inspect_pdf",
]


def __getattr__(name: str) -> Any:
    # The signer loads on first use, so that verification alone does not pay for importing it.
    if name in __all__:
        from signing.pades import sign

        return getattr(sign, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
