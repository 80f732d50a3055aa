"""Credentials: random bearer tokens stored as SHA-256, argon2 passwords, TOTP, enrolment codes.

Tokens and codes are high-entropy random values, so a fast hash is the right way to store them
(it only has to resist reversal, not guessing); admin passwords are low-entropy and get argon2id.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

DEVICE_PREFIX = "pmsd_"
ADMIN_PREFIX = "pmsa_"
SYSTEM_PREFIX = "pmss_"
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
_hasher = PasswordHasher()


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_enrolment_code() -> str:
    """Sixteen characters (80 bits) in groups of four: ``ABCD-EFGH-JKLM-NPQR``."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def normalise_code(code: str) -> str:
    return "".join(c for c in code.upper() if c.isalnum())


def code_hash(code: str) -> str:
    return token_hash("enrol:" + normalise_code(code))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_step(secret: str, code: str, *, after_step: int) -> int | None:
    """The time step a TOTP code is valid for (one step of clock drift allowed), or None.

    A step at or before ``after_step`` is refused so that a code cannot be replayed.
    """
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now_step = int(time.time()) // totp.interval
    for step in (now_step, now_step - 1, now_step + 1):
        if step > after_step and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
