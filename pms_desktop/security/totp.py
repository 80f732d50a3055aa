"""TOTP (RFC 6238) with ``pyotp``: secrets, provisioning URIs, replay-safe verification."""

from __future__ import annotations

import secrets
from datetime import datetime

import pyotp

ISSUER = "Clinic PMS"
STEP = 30


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str, issuer: str = ISSUER) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def current_code(secret: str, at: datetime) -> str:
    return pyotp.TOTP(secret).at(at)


def matching_step(secret: str, code: str, at: datetime, *, window: int = 1) -> int | None:
    """The time step a code belongs to (within +-window steps), or None.

    The caller stores the step it accepted and refuses any step not greater: a code is
    accepted once, never replayed within its window.
    """
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now_step = int(at.timestamp()) // STEP
    for step in range(now_step - window, now_step + window + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes(n: int = 10) -> list[str]:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return ["".join(secrets.choice(alphabet) for _ in range(4)) + "-" +
            "".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(n)]
