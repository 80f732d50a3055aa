"""The clinic key and its transfer code: how a new workstation gets the key that seals staff
credentials, without the sync server ever being able to open it.

* The **clinic key** (32 random bytes) seals staff password hashes, TOTP secrets and recovery
  code hashes inside the staff ``Basic`` resources (``fhir/secret_box.py``). It is made once by
  the clinic's first workstation and kept in each workstation's encrypted database.
* A **transfer code** (24 characters, 120 random bits, e.g. ``K7QX2M-...``) is issued by a clinic
  admin on a workstation that holds the key. The key is wrapped under a key derived from the
  code (argon2id, then AES-256-GCM) and the wrapped blob is left on the sync server; the admin
  types the code on the new workstation, which fetches the blob and unwraps it. The server
  holds the blob but never the code, so it cannot unwrap it; a forged or swapped blob does not
  authenticate (the clinic id and the key id are the associated data).

Pure functions: no database, no network, no Qt. See docs/sync-protocol.md (clinic key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from typing import Any

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..domain.errors import ValidationError

KEY_BYTES = 32
CODE_BYTES = 15  # 120 bits: 24 base32 characters, shown in four groups of six
ALG = "argon2id+aes-256-gcm"
# The code is random, not a password: argon2id is a margin, not the defence; the OWASP minimum
# keeps a workstation's enrolment quick. Wrapped blobs carry their parameters, and the bounds
# below keep a hostile server from making a workstation burn memory or time.
ARGON2_TIME, ARGON2_MEMORY_KIB, ARGON2_LANES = 2, 19 * 1024, 1
_BOUNDS = {"time_cost": (1, 10), "memory_kib": (8 * 1024, 256 * 1024), "parallelism": (1, 8)}
_FIELD = "clinic_key_code"


def new_clinic_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def clinic_key_id(key: bytes) -> str:
    """A public name of the key (16 hex digits): tells keys apart without revealing them."""
    return hashlib.sha256(b"pms-clinic-key-id\x00" + key).hexdigest()[:16]


def new_transfer_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode("ascii")
    return "-".join(raw[i : i + 6] for i in range(0, len(raw), 6))


def normalise_transfer_code(code: str) -> str:
    """Case, spaces and dashes do not matter; 0/1/8 typed for O/I/B are forgiven."""
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    cleaned = cleaned.replace("0", "O").replace("1", "I").replace("8", "B")
    if len(cleaned) != 24 or any(ch not in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for ch in cleaned):
        raise ValidationError({_FIELD: "A clinic key code has 24 letters and digits, "
                                       "like ABCDEF-GHIJKL-MNOPQR-STUVWX."})
    return "-".join(cleaned[i : i + 6] for i in range(0, 24, 6))


def _kek(code: str, salt: bytes, time_cost: int, memory_kib: int, parallelism: int) -> bytes:
    return hash_secret_raw(normalise_transfer_code(code).encode("ascii"), salt,
                           time_cost=time_cost, memory_cost=memory_kib,
                           parallelism=parallelism, hash_len=32, type=Type.ID)


def _aad(clinic_id: str, key_id: str) -> bytes:
    return f"pms-clinic-key\x00{clinic_id}\x00{key_id}".encode()


def wrap_clinic_key(key: bytes, code: str, *, clinic_id: str) -> dict[str, Any]:
    """The key wrapped under the code, as the sync server keeps it (``wrapped`` of the API)."""
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    kek = _kek(code, salt, ARGON2_TIME, ARGON2_MEMORY_KIB, ARGON2_LANES)
    sealed = AESGCM(kek).encrypt(nonce, key, _aad(clinic_id, clinic_key_id(key)))
    return {"alg": ALG, "salt": _b64(salt), "nonce": _b64(nonce), "ciphertext": _b64(sealed),
            "time_cost": ARGON2_TIME, "memory_kib": ARGON2_MEMORY_KIB,
            "parallelism": ARGON2_LANES}


def unwrap_clinic_key(wrapped: dict[str, Any], code: str, *, clinic_id: str,
                      key_id: str) -> bytes:
    """The clinic key, or ``ValidationError`` on the code field when the code does not open it."""
    code = normalise_transfer_code(code)
    try:
        params = {name: _bounded(wrapped, name) for name in _BOUNDS}
        if wrapped.get("alg") != ALG:
            raise ValueError("alg")
        salt, nonce = _unb64(wrapped["salt"]), _unb64(wrapped["nonce"])
        sealed = _unb64(wrapped["ciphertext"])
        if not 16 <= len(salt) <= 64 or len(nonce) != 12:
            raise ValueError("sizes")
    except (KeyError, TypeError, ValueError, binascii.Error) as e:
        raise ValidationError({_FIELD: "The sync server sent a clinic key this version cannot "
                                       "read."}) from e
    try:
        key = AESGCM(_kek(code, salt, **params)).decrypt(nonce, sealed, _aad(clinic_id, key_id))
    except InvalidTag as e:
        raise ValidationError({_FIELD: "This code does not open the clinic key. Check it with "
                                       "your clinic admin, or ask for a new code."}) from e
    if len(key) != KEY_BYTES or clinic_key_id(key) != key_id:
        raise ValidationError({_FIELD: "The clinic key does not match its name."})
    return key


def _bounded(wrapped: dict[str, Any], name: str) -> int:
    value = wrapped[name]
    low, high = _BOUNDS[name]
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(name)
    return value


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str) or len(text) > 200:
        raise ValueError("base64")
    return base64.b64decode(text.encode("ascii"), validate=True)
