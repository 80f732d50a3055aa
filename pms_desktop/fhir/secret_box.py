"""``ClinicSecretBox``: staff secrets sealed under the clinic key, for travel inside FHIR.

Staff password hashes, TOTP secrets and recovery-code hashes reach the clinic's other
workstations only sealed by this box: the FHIR JSON holds ``key id || ciphertext+tag`` (base64)
and nothing else about them. How a workstation gets the clinic key is in
``security/clinic_key.py``.

* AES-256-GCM-SIV (RFC 8452), nonce-misuse resistant, used deterministically: the nonce comes
  from the record's id, so the same secrets of the same record always seal to the same bytes.
  An unchanged account therefore looks unchanged to the three-way merge (a random nonce would
  make every re-sealing look like an edit, and conflict with any remote edit). What the
  determinism reveals is only that a record's secrets did or did not change between versions.
* The record's id and the key id are the associated data, so a sealed blob moved onto another
  record fails to open instead of silently granting that record someone else's password.
* The first 8 bytes name the key (``clinic_key_id``), so a blob sealed under another clinic key
  says so instead of failing as "damaged".
"""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV

from ..domain.errors import ValidationError
from ..security.clinic_key import clinic_key_id

KEY_ID_BYTES = 8


class ClinicSecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the clinic key must be 32 bytes (AES-256)")
        self._aead = AESGCMSIV(key)
        self.key_id = clinic_key_id(key)
        self._prefix = bytes.fromhex(self.key_id)

    def seal(self, plaintext: bytes, *, bound_to: str) -> bytes:
        return self._prefix + self._aead.encrypt(_nonce(bound_to), plaintext,
                                                 self._prefix + bound_to.encode())

    def open(self, sealed: bytes, *, bound_to: str) -> bytes:
        if len(sealed) <= KEY_ID_BYTES + 16:
            raise ValidationError({"credentials": "the sealed credentials are truncated"})
        prefix, body = sealed[:KEY_ID_BYTES], sealed[KEY_ID_BYTES:]
        if prefix != self._prefix:
            raise ValidationError({"credentials": "the sealed credentials do not open with this "
                                                  "clinic key: they are sealed under another one"
                                                  f" ({prefix.hex()})"})
        try:
            return self._aead.decrypt(_nonce(bound_to), body, prefix + bound_to.encode())
        except InvalidTag as e:
            raise ValidationError(
                {"credentials": "the sealed credentials do not open with this clinic key"}
            ) from e

    def __repr__(self) -> str:  # never show the key
        return f"ClinicSecretBox(<key {self.key_id}>)"


def _nonce(bound_to: str) -> bytes:
    return hashlib.sha256(b"pms-sealed-credentials\x00" + bound_to.encode()).digest()[:12]
