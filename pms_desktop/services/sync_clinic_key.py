"""The clinic key on this workstation: made by the clinic's first workstation, received by the
others with a code a clinic admin types, never readable by the sync server.

The key lives in the encrypted database (``sync_state``), so it is in the workstation's
encrypted backups and nowhere else on disk. The exchange with the server (the wrapped key in
the clinic key mailbox) is described in docs/sync-protocol.md; the cryptography is in
``security/clinic_key.py``. Used by ``SyncService``; no Qt, no staff permission checks here.

A code is good for one workstation: the one that opens the key with it spends it (``_spend``),
and a newer code replaces it; either way it opens nothing after.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from ..domain.errors import ConflictError, UserError, ValidationError
from ..fhir.secret_box import ClinicSecretBox
from ..security.clinic_key import (
    clinic_key_id,
    new_clinic_key,
    new_transfer_code,
    unwrap_clinic_key,
    wrap_clinic_key,
)
from ..sync import sync_state as st
from ..sync.transport import SyncClient, SyncOffline, SyncRefused
from .base import ServiceCore, unit_of_work

if TYPE_CHECKING:
    from ..domain.session import StaffSession

CLINIC_KEY = "clinic_key"  # sync_state: base64 of the 32-byte clinic key
# A key made here and being announced to the server: kept before it is sent, so that a lost
# answer or a crash after the server took it does not leave the clinic a key nobody holds;
# never used to seal until the server has it (then it becomes CLINIC_KEY).
CANDIDATE_KEY = "clinic_key_candidate"
# The code that brought the key here is for this workstation only. Once the key is kept, the
# workstation leaves it on the server wrapped under a code nobody is told, so the code opens
# nothing any more ("spent"). Kept (the nonce of the wrapping it opened) with the key, in one
# transaction, until the server has the new wrapping: a lost answer is retried at the next sync.
CODE_TO_SPEND = "clinic_key_code_to_spend"


class ClinicKeyNeeded(UserError):
    """The clinic has a key and this workstation does not hold it yet: nothing syncs until the
    code is entered (local changes stay queued)."""

    def __init__(self) -> None:
        super().__init__(
            "This workstation needs the clinic key code before it can sync. A clinic admin "
            "issues one on a workstation of the clinic already in use and enters it here.")


class ClinicKeys:
    def __init__(self, core: ServiceCore) -> None:
        self.core = core
        self._box: ClinicSecretBox | None = None

    # -- what this workstation holds ----------------------------------------------------------

    def held(self, session: Session) -> bytes | None:
        text = st.get(session, CLINIC_KEY)
        return base64.b64decode(text) if text else None

    def box(self, session: Session) -> ClinicSecretBox | None:
        """The secret box for mapping staff accounts (None while no key is held)."""
        if self._box is None:
            key = self.held(session)
            self._box = ClinicSecretBox(key) if key else None
        return self._box

    def _store(self, key: bytes, action: str, actor: StaffSession | None = None, *,
               spend: str | None = None) -> None:
        with unit_of_work(self.core, actor) as uow:
            st.put(uow.session, CLINIC_KEY, base64.b64encode(key).decode("ascii"))
            st.put(uow.session, CANDIDATE_KEY, None)
            st.put(uow.session, CODE_TO_SPEND, spend)
            uow.audit(action, detail={"key_id": clinic_key_id(key)})
        self._box = ClinicSecretBox(key)

    def _candidate(self, *, make: bool = False) -> bytes | None:
        """The key being announced (made and kept first, durably, when ``make``)."""
        with self.core.sessions() as s, s.begin():
            text = st.get(s, CANDIDATE_KEY)
            if text is None and make:
                text = base64.b64encode(new_clinic_key()).decode("ascii")
                st.put(s, CANDIDATE_KEY, text)
        return base64.b64decode(text) if text else None

    def _local(self) -> bytes | None:
        with self.core.sessions() as s:
            key = self.held(s)
        self._box = ClinicSecretBox(key) if key else None
        return key

    # -- exchanges with the server ------------------------------------------------------------

    def ensure(self, client: SyncClient, clinic_id: str) -> None:
        """Before a sync: the key is held, or made here as the clinic's first; else
        ``ClinicKeyNeeded``. Costs no request once the key is held."""
        if self._local() is not None:
            self._spend(client, clinic_id)
            return
        remote = client.get_clinic_key()
        if remote is not None:
            candidate = self._candidate()
            if candidate is None or remote.get("key_id") != clinic_key_id(candidate):
                raise ClinicKeyNeeded()
            # Ours: the server took it, and the answer was lost or this workstation stopped.
            self._store(candidate, "sync.clinic_key.created")
            return
        self._create(client, clinic_id)

    def _create(self, client: SyncClient, clinic_id: str) -> bytes:
        """A new clinic key, announced to the server before it seals anything. It is wrapped
        under a code nobody is told: an admin issues a real one when a workstation joins."""
        key = self._candidate(make=True)
        assert key is not None
        try:
            client.put_clinic_key(clinic_key_id(key),
                                  wrap_clinic_key(key, new_transfer_code(), clinic_id=clinic_id))
        except SyncRefused as e:
            if e.status == 409:  # another workstation made the clinic's key first
                raise ClinicKeyNeeded() from e
            raise
        self._store(key, "sync.clinic_key.created")
        return key

    def receive(self, client: SyncClient, clinic_id: str, code: str) -> None:
        """Fetch the wrapped key and open it with the code a clinic admin gave."""
        remote = client.get_clinic_key()
        if remote is None:
            raise ValidationError({"clinic_key_code": (
                "No workstation of this clinic has synced a clinic key yet. Sync a workstation "
                "already in use first, then issue the code there.")})
        key = unwrap_clinic_key(remote.get("wrapped") or {}, code, clinic_id=clinic_id,
                                key_id=str(remote.get("key_id")))
        held = self._local()
        if held is not None and held != key:
            raise ConflictError("This workstation already holds another clinic key.")
        if held is None:
            opened = str((remote.get("wrapped") or {}).get("nonce"))
            self._store(key, "sync.clinic_key.received", spend=opened)
            try:
                self._spend(client, clinic_id)
            except (SyncOffline, SyncRefused):
                pass  # the key is kept; the next sync spends the code

    def _spend(self, client: SyncClient, clinic_id: str) -> None:
        """Leave the key wrapped under a code nobody is told, unless an admin issued a newer
        code meanwhile (the wrapping on the server is no longer the one opened here: the
        code used here opens nothing already, and the newer one must keep working)."""
        with self.core.sessions() as s:
            opened = st.get(s, CODE_TO_SPEND)
        if not opened:
            return
        key = self._local()
        assert key is not None
        try:  # only in place of the wrapping opened here: a newer code must keep working
            client.put_clinic_key(clinic_key_id(key), wrap_clinic_key(
                key, new_transfer_code(), clinic_id=clinic_id), replacing=opened)
        except SyncRefused as e:
            # 412: a newer code was issued (or no key is there); 409: the server holds another
            # key. Either way the code opened here opens nothing any more.
            if e.status not in (409, 412):
                raise
        with self.core.sessions() as s, s.begin():
            st.put(s, CODE_TO_SPEND, None)

    def issue(self, client: SyncClient, clinic_id: str, actor: StaffSession) -> str:
        """A new code for the clinic key (the previous code stops working)."""
        self.ensure(client, clinic_id)
        key = self._local()
        assert key is not None
        code = new_transfer_code()
        try:
            client.put_clinic_key(clinic_key_id(key),
                                  wrap_clinic_key(key, code, clinic_id=clinic_id))
        except SyncRefused as e:
            if e.status == 409:
                raise ConflictError("The sync server holds another clinic key than this "
                                    "workstation. Ask your administrator.") from e
            raise
        with unit_of_work(self.core, actor) as uow:
            uow.audit("sync.clinic_key.issue", detail={"key_id": clinic_key_id(key)})
        return code
