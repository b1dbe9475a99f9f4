"""PAdES signing with pyHanko. This package is the only importer of ``pyhanko`` in the platform.

``sign.py`` and the modules it uses belong to signing; the ``reading`` subpackage (reading a signed PDF into
facts for the verifier) and ``report_pdf.py`` (writing the verification report) belong to verification.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from signing.pades.options import LEVELS, DocumentFacts, Level, PadesOptions, PadesResult, SignerMaterial
    from signing.pades.sign import PadesEngine, inspect_pdf

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


_OPTIONS = frozenset({"LEVELS", "DocumentFacts", "Level", "PadesOptions", "PadesResult", "SignerMaterial"})


def __getattr__(name: str) -> Any:
    # The signer (and pyHanko, ~43 MB a process) loads on first use: verification alone does not pay for it, nor a
    # worker that only answers OpenID requests; levels and options are plain values and load without it.
    if name in _OPTIONS:
        from signing.pades import options

        return getattr(options, name)
    if name in __all__:
        from signing.pades import sign

        return getattr(sign, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
