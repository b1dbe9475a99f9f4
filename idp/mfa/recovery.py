"""Recovery codes: ten random single-use codes an official keeps on paper for when the phone is lost."""

from __future__ import annotations

import secrets

__all__ = ["CODE_COUNT", "new_codes", "normalise_recovery_code"]

CODE_COUNT = 10
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read from paper, typed by hand
HALF = 5  # two groups of five: about 49 bits per code


def new_codes(count: int = CODE_COUNT) -> list[str]:
    return ["-".join("".join(secrets.choice(ALPHABET) for _ in range(HALF)) for _ in range(2)) for _ in range(count)]


def normalise_recovery_code(typed: str) -> str:
    """What the official typed, in the form digests are made of: lower case, no spaces, one dash."""
    compact = "".join(ch for ch in typed.lower() if ch.isalnum())
    if len(compact) != 2 * HALF:
        return compact
    return f"{compact[:HALF]}-{compact[HALF:]}"
