"""``ClinicSecretBox``: AES-256-GCM under a clinic key, for secrets that travel inside FHIR.

Staff password hashes and TOTP secrets reach the clinic's other workstations only sealed by
this box: the FHIR JSON holds ``nonce || ciphertext+tag`` (base64) and nothing else about them.
The record's own id is the associated data, so a sealed blob moved onto another record fails to
open instead of silently granting that record someone else's password.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..domain.errors import ValidationError

NONCE_BYTES = 12


class ClinicSecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the clinic key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, *, bound_to: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, bound_to.encode())

    def open(self, sealed: bytes, *, bound_to: str) -> bytes:
        if len(sealed) <= NONCE_BYTES:
            raise ValidationError({"credentials": "the sealed credentials are truncated"})
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], bound_to.encode())
        except InvalidTag as e:
            raise ValidationError(
                {"credentials": "the sealed credentials do not open with this clinic key"}
            ) from e

    def __repr__(self) -> str:  # never show the key
        return "ClinicSecretBox(<key>)"
