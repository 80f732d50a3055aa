"""Database keys: random 256-bit, kept in the OS keyring, recoverable with a printed secret.

``keyinfo.json`` (beside the database, holding no secret) keeps:
- the recovery public key (X25519), whose private half is derived from the recovery secret
  with argon2id; every database key, and every rotated one, is sealed to it, so the recovery
  secret opens the database without the keyring and stays valid across rotations;
- a key check value that tells a wrong key from a damaged file;
- during a rotation, the pending key (sealed too), so that a crash between ``PRAGMA rekey`` and
  the keyring update never loses the key.

No plaintext key is ever written to disk by this module; without a working keyring the caller
is told so (``KeyringUnavailable``) and must use the recovery secret.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import keyring
import keyring.errors
from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ..domain.errors import KeyringUnavailable, StoreError, WrongKeyError
from ..domain.ids import new_id
from .engine import fsync_dir, key_check

KEYINFO_FILENAME = "keyinfo.json"
KEYRING_SERVICE = "clinic-pms"
# Recovery secret: 30 random bytes = 48 base32 characters, shown in groups of 6.
RECOVERY_BYTES = 30
ARGON2_TIME, ARGON2_MEMORY_KIB, ARGON2_LANES = 3, 64 * 1024, 2


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


def new_database_key() -> bytes:
    return secrets.token_bytes(32)


def new_recovery_secret() -> str:
    raw = base64.b32encode(secrets.token_bytes(RECOVERY_BYTES)).decode("ascii")
    return "-".join(raw[i : i + 6] for i in range(0, len(raw), 6))


def normalise_recovery_secret(secret: str) -> str:
    cleaned = "".join(ch for ch in secret.upper() if ch.isalnum())
    cleaned = cleaned.replace("0", "O").replace("1", "I").replace("8", "B")
    return "-".join(cleaned[i : i + 6] for i in range(0, len(cleaned), 6))


def _recovery_private_key(secret: str, salt: bytes) -> X25519PrivateKey:
    seed = hash_secret_raw(
        normalise_recovery_secret(secret).encode("ascii"),
        salt,
        time_cost=ARGON2_TIME,
        memory_cost=ARGON2_MEMORY_KIB,
        parallelism=ARGON2_LANES,
        hash_len=32,
        type=Type.ID,
    )
    return X25519PrivateKey.from_private_bytes(seed)


def _wrap_key(shared: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(shared)


def seal_to_public(public_raw: bytes, payload: bytes, *, purpose: str) -> dict[str, str]:
    """ECIES: an ephemeral X25519 key agreement, HKDF, AES-256-GCM."""
    eph = X25519PrivateKey.generate()
    shared = eph.exchange(X25519PublicKey.from_public_bytes(public_raw))
    eph_pub = eph.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    kek = _wrap_key(shared, eph_pub, purpose.encode())
    nonce = os.urandom(12)
    ct = AESGCM(kek).encrypt(nonce, payload, purpose.encode())
    return {"ephemeral": _b64(eph_pub), "nonce": _b64(nonce), "ciphertext": _b64(ct)}


def open_sealed(private: X25519PrivateKey, sealed: dict[str, str], *, purpose: str) -> bytes:
    eph_pub = _unb64(sealed["ephemeral"])
    shared = private.exchange(X25519PublicKey.from_public_bytes(eph_pub))
    kek = _wrap_key(shared, eph_pub, purpose.encode())
    return AESGCM(kek).decrypt(_unb64(sealed["nonce"]), _unb64(sealed["ciphertext"]),
                               purpose.encode())


@dataclass
class KeyInfo:
    database_id: str
    recovery_public: bytes
    recovery_salt: bytes
    sealed_key: dict[str, str]
    check: str
    created_at: str
    rotated_at: str | None = None
    pending_sealed_key: dict[str, str] | None = None
    pending_check: str | None = None

    @property
    def keyring_name(self) -> str:
        return f"db-key:{self.database_id}"

    def to_json(self) -> dict[str, Any]:
        return {
            "format": 1,
            "database_id": self.database_id,
            "recovery_public_key": _b64(self.recovery_public),
            "recovery_salt": _b64(self.recovery_salt),
            "sealed_key": self.sealed_key,
            "key_check": self.check,
            "created_at": self.created_at,
            "rotated_at": self.rotated_at,
            "pending_sealed_key": self.pending_sealed_key,
            "pending_key_check": self.pending_check,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyInfo:
        return cls(
            database_id=data["database_id"],
            recovery_public=_unb64(data["recovery_public_key"]),
            recovery_salt=_unb64(data["recovery_salt"]),
            sealed_key=data["sealed_key"],
            check=data["key_check"],
            created_at=data["created_at"],
            rotated_at=data.get("rotated_at"),
            pending_sealed_key=data.get("pending_sealed_key"),
            pending_check=data.get("pending_key_check"),
        )

    def save(self, data_dir: Path) -> None:
        write_atomic(data_dir / KEYINFO_FILENAME, json.dumps(self.to_json(), indent=2).encode())

    @classmethod
    def load(cls, data_dir: Path) -> KeyInfo:
        path = data_dir / KEYINFO_FILENAME
        try:
            return cls.from_json(json.loads(path.read_text("utf-8")))
        except FileNotFoundError:
            raise StoreError(f"{path} is missing: this folder holds no clinic database.") from None
        except (ValueError, KeyError) as e:
            raise StoreError(f"{path} is damaged ({type(e).__name__}).") from None


def write_atomic(path: Path, data: bytes, *, tmp: Path | None = None) -> None:
    """Write a file so that a crash leaves either the old or the new content. ``tmp``: where
    the new content is staged (same file system); beside ``path`` by default."""
    tmp = tmp or path.with_suffix(path.suffix + ".tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk must not keep the half-written copy
        raise
    fsync_dir(path.parent)


def new_keyinfo(key: bytes, recovery_secret: str) -> KeyInfo:
    salt = secrets.token_bytes(16)
    public = _recovery_private_key(recovery_secret, salt).public_key()
    public_raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return KeyInfo(
        database_id=new_id(),
        recovery_public=public_raw,
        recovery_salt=salt,
        sealed_key=seal_to_public(public_raw, key, purpose="database-key"),
        check=key_check(key),
        created_at=datetime.now(UTC).isoformat(),
    )


def keys_from_recovery_secret(info: KeyInfo, secret: str) -> list[bytes]:
    """The current key (and a pending one, mid-rotation) unsealed with the recovery secret."""
    private = _recovery_private_key(secret, info.recovery_salt)
    public_raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    if public_raw != info.recovery_public:
        raise WrongKeyError("recovery secret",
                            "That recovery secret is not the one of this clinic.")
    found = [open_sealed(private, info.sealed_key, purpose="database-key")]
    if info.pending_sealed_key:
        found.append(open_sealed(private, info.pending_sealed_key, purpose="database-key"))
    return found


class KeyStore:
    """The OS keyring, through ``keyring``; refuses loudly where no real backend exists."""

    def __init__(self, service: str = KEYRING_SERVICE) -> None:
        self.service = service

    def _backend(self) -> Any:
        backend = keyring.get_keyring()
        name = type(backend).__module__ + "." + type(backend).__name__
        if "fail" in name.lower() or "null" in name.lower():
            raise KeyringUnavailable(name)
        return backend

    def available(self) -> bool:
        try:
            self._backend()
        except KeyringUnavailable:
            return False
        return True

    def get(self, name: str) -> bytes | None:
        try:
            value = self._backend().get_password(self.service, name)
        except keyring.errors.KeyringError as e:
            raise KeyringUnavailable(type(e).__name__) from None
        return None if value is None else bytes.fromhex(value)

    def put(self, name: str, key: bytes) -> None:
        try:
            self._backend().set_password(self.service, name, key.hex())
        except keyring.errors.KeyringError as e:
            raise KeyringUnavailable(type(e).__name__) from None

    def delete(self, name: str) -> None:
        try:
            self._backend().delete_password(self.service, name)
        except keyring.errors.PasswordDeleteError:
            pass
        except keyring.errors.KeyringError as e:
            raise KeyringUnavailable(type(e).__name__) from None
