"""TOTP (RFC 6238) with ``pyotp``: secrets, provisioning URIs, replay-safe verification.

Codes are computed here (RFC 4226 truncation over HMAC-SHA1) rather than by ``pyotp.TOTP``:
pyotp 2.10 refuses secrets under 112 bits, and accounts enrolled elsewhere with 80-bit secrets
(the common authenticator default) must keep working. New secrets are 160 bits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from datetime import datetime

import pyotp

ISSUER = "Clinic PMS"
STEP = 30


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str, issuer: str = ISSUER) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def _key(secret: str) -> bytes:
    cleaned = secret.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def code_for_step(secret: str, step: int) -> str:
    digest = hmac.new(_key(secret), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def current_code(secret: str, at: datetime) -> str:
    return code_for_step(secret, int(at.timestamp()) // STEP)


def matching_step(secret: str, code: str, at: datetime, *, window: int = 1) -> int | None:
    """The time step a code belongs to (within +-window steps), or None.

    The caller stores the step it accepted and refuses any step not greater: a code is
    accepted once, never replayed within its window.
    """
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    now_step = int(at.timestamp()) // STEP
    for step in range(now_step - window, now_step + window + 1):
        if secrets.compare_digest(code_for_step(secret, step), code):
            return step
    return None


def new_recovery_codes(n: int = 10) -> list[str]:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return ["".join(secrets.choice(alphabet) for _ in range(4)) + "-" +
            "".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(n)]
