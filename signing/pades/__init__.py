"""PAdES signing with pyHanko. This package is the only importer of ``pyhanko`` in the platform.

``sign.py`` and the modules it uses belong to signing; ``validate*.py`` belong to verification.
"""

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
