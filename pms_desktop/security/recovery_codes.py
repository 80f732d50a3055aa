"""One-time MFA recovery codes: made here, kept only as argon2 hashes, each accepted once."""

from __future__ import annotations

import json

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .totp import new_recovery_codes

# Lighter than passwords (10 codes are hashed at once) but still memory-hard; a code holds
# 40 random bits and the sign-in throttle bounds the guesses.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def normalise(code: str) -> str:
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    return cleaned[:4] + "-" + cleaned[4:] if len(cleaned) == 8 else cleaned


def looks_like_recovery_code(code: str) -> bool:
    return len("".join(ch for ch in code if ch.isalnum())) == 8


def issue(n: int = 10) -> tuple[list[str], str]:
    """Fresh codes to show once, and the JSON list of their hashes to store."""
    codes = new_recovery_codes(n)
    return codes, json.dumps([_HASHER.hash(c) for c in codes])


def consume(stored: str | None, code: str) -> str | None:
    """The stored JSON without the matching code's hash, or None when the code matches none."""
    if not stored or not looks_like_recovery_code(code):
        return None
    hashes: list[str] = json.loads(stored)
    wanted = normalise(code)
    for i, h in enumerate(hashes):
        try:
            if _HASHER.verify(h, wanted):
                return json.dumps(hashes[:i] + hashes[i + 1 :])
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            continue
    return None


def remaining(stored: str | None) -> int:
    return len(json.loads(stored)) if stored else 0
