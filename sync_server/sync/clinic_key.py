"""The clinic key mailbox: the clinic key wrapped by a workstation, for the clinic's next ones.

The server keeps one wrapped key per clinic and cannot open it: it is wrapped under a code a
clinic admin types on the new workstation, which the server never sees. The server checks only
the shape (sizes and bounded KDF parameters). Replacing the wrapping (a new code) is allowed
for the same ``key_id``; a different key is refused with 409, because the accounts already
sealed under the first key would no longer open anywhere.

Each wrapping's ETag is its nonce (fresh for every wrapping). A PUT with ``If-Match`` replaces
only the wrapping it names (412 otherwise): a workstation spending the code it opened the key
with (GET, then PUT under a code nobody is told) cannot overwrite a newer code a clinic admin
issued on another workstation between its two requests.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from sqlalchemy import select

from sync_server.auth.principal import Principal
from sync_server.errors import BadRequest, Conflict, NotFound, PreconditionFailed
from sync_server.store.clock import now_instant
from sync_server.store.db import Database
from sync_server.store.models import Clinic, ClinicKey

ALG = "argon2id+aes-256-gcm"
_KEY_ID = re.compile(r"^[0-9a-f]{16,64}$")
# (min, max) decoded bytes of each base64 field, and bounds of each KDF parameter.
_BLOBS = {"salt": (16, 64), "nonce": (12, 12), "ciphertext": (32, 128)}
_PARAMS = {"time_cost": (1, 10), "memory_kib": (8 * 1024, 256 * 1024), "parallelism": (1, 8)}


def get(db: Database, clinic_id: str) -> dict[str, Any]:
    with db.read() as session:
        row = session.get(ClinicKey, clinic_id)
    if row is None:
        raise NotFound("this clinic has no clinic key yet")
    return _answer(row)


def etag(stored: dict[str, Any]) -> str:
    """The ETag of a stored wrapping (``get``'s or ``put``'s answer)."""
    return f'"{stored["wrapped"]["nonce"]}"'


def put(db: Database, principal: Principal, body: Any, *,
        if_match: str | None = None) -> tuple[dict[str, Any], bool]:
    """Store or re-wrap the clinic key; returns the stored record and whether it is new.
    With ``if_match``, only if the wrapping stored now is the one it names."""
    key_id, wrapped = _checked(body)
    clinic_id, stamp = str(principal.clinic_id), now_instant()
    with db.write() as session:
        # The clinic row lock serialises two first workstations racing to create the key.
        session.execute(select(Clinic.id).where(Clinic.id == clinic_id).with_for_update())
        row = session.get(ClinicKey, clinic_id)
        created = row is None
        if if_match is not None and not _matches(if_match, row):
            raise PreconditionFailed("the clinic key was wrapped anew since it was read")
        if row is None:
            row = ClinicKey(clinic_id=clinic_id, key_id=key_id, created_at=stamp)
            session.add(row)
        elif row.key_id != key_id:
            raise Conflict("this clinic already has another clinic key; enter its code instead")
        row.wrapped, row.device_id, row.updated_at = json.dumps(wrapped), principal.id, stamp
        session.flush()
        return _answer(row), created


def _matches(if_match: str, row: ClinicKey | None) -> bool:
    if row is None:
        return False
    if if_match.strip() == "*":
        return True
    current = etag(_answer(row))
    return any(tag.strip() == current for tag in if_match.split(","))


def _answer(row: ClinicKey) -> dict[str, Any]:
    return {"key_id": row.key_id, "wrapped": json.loads(row.wrapped),
            "created_at": row.created_at, "updated_at": row.updated_at}


def _checked(body: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(body, dict) or set(body) - {"key_id", "wrapped"}:
        raise BadRequest("the body must be {\"key_id\", \"wrapped\"}")
    key_id, wrapped = body.get("key_id"), body.get("wrapped")
    if not isinstance(key_id, str) or not _KEY_ID.match(key_id):
        raise BadRequest("key_id must be 16 to 64 lowercase hex digits", expression="key_id")
    if not isinstance(wrapped, dict) or set(wrapped) != {"alg", *_BLOBS, *_PARAMS}:
        raise BadRequest(f"wrapped must hold exactly alg, {', '.join([*_BLOBS, *_PARAMS])}",
                         expression="wrapped")
    if wrapped["alg"] != ALG:
        raise BadRequest(f"wrapped.alg must be {ALG}", expression="wrapped.alg")
    for name, (low, high) in _BLOBS.items():
        if not low <= _decoded_size(wrapped[name]) <= high:
            raise BadRequest(f"wrapped.{name} must be base64 of {low} to {high} bytes",
                             expression=f"wrapped.{name}")
    for name, (low, high) in _PARAMS.items():
        value = wrapped[name]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise BadRequest(f"wrapped.{name} must be an integer in {low}..{high}",
                             expression=f"wrapped.{name}")
    return key_id, wrapped


def _decoded_size(text: Any) -> int:
    if not isinstance(text, str) or len(text) > 400:
        return -1
    try:
        return len(base64.b64decode(text.encode("ascii"), validate=True))
    except (binascii.Error, UnicodeEncodeError):
        return -1
