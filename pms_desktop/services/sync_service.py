"""The sync door (``ctx.sync``): enrolment, sync now, status, conflicts and their resolution.

Two kinds of caller: a person (operations taking a ``StaffSession``: audited and permission
checked) and the workstation itself (``enrol_device``, ``run_sync``, ``device_status``: used by
``pms-desktop enroll/sync`` and the background controller, which act with the device
credential and need no staff sign-in; they write their own access-log entries). The device
credential lives in the OS keyring (``device:<database id>``), never in the database or a file.
The clinic key that seals staff credentials is kept by ``sync_clinic_key.ClinicKeys``: a sync
needs it, and a new workstation receives it with a code a clinic admin issues and types.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.enums import OutboxStatus
from ..domain.errors import (
    ConflictError,
    NotFound,
    PermissionDenied,
    StoreError,
    UserError,
    ValidationError,
)
from ..domain.permissions import Permission
from ..store.engine import translate_errors
from ..store.keys import KeyInfo, KeyStore
from ..store.models import Appointment, OutboxChange, Patient, SyncConflict
from ..sync import sync_state as st
from ..sync.engine import SyncEngine, SyncReport
from ..sync.merge import is_sealed, set_field
from ..sync.resources import FallbackMap, ResourceMap, table_holding
from ..sync.transport import SyncClient, SyncOffline, TransportSettings
from .base import ServiceCore, UnitOfWork, operation, unit_of_work
from .sync_clinic_key import ClinicKeys
from .sync_conflicts import ConflictInfo, conflict_infos, may_resolve
from .workstation_names import enrolled_as, local_name, send_pending_name
from .workstation_registry import WorkstationRegistry

__all__ = ["ConflictInfo", "NotEnrolled", "SyncResult", "SyncService", "SyncStatus",
           "device_credential_name", "enrolment_problems"]

if TYPE_CHECKING:
    from ..domain.session import StaffSession
    from ..store.database import ClinicDatabase

Progress = Callable[[str, int, int], None]
KEPT_BOTH = "Both kept after a double-booking met in sync"


# A full disk or a read-only data folder during a sync: said in these words (store.engine).
SYNC_STOPPED = "the sync stopped and nothing was lost"


def device_credential_name(database_id: str) -> str:
    """The keyring entry of a workstation's device credential (one per database)."""
    return f"device:{database_id}"


def enrolment_problems(server_url: str, code: str, ca_file: Path | None) -> dict[str, str]:
    """What is wrong with an enrolment's fields before anything is sent (a code works once)."""
    errors = {}
    if not server_url.startswith(("https://", "http://")):
        errors["server_url"] = "Enter the server address, starting with https://"
    if not code.strip():
        errors["code"] = "Enter the enrolment code from your administrator."
    if ca_file is not None and not Path(ca_file).is_file():
        errors["ca_file"] = "No file at this path: choose the server's CA certificate file."
    return errors


class NotEnrolled(UserError):
    def __init__(self) -> None:
        super().__init__("This workstation is not enrolled with a sync server yet.")


@dataclass(frozen=True)
class SyncStatus:
    enrolled: bool
    server_url: str | None
    online: bool | None  # None: not tried yet
    last_sync_at: datetime | None
    last_error: str | None
    pending_changes: int
    conflicts: int
    quarantined: int
    clinic_key_held: bool = False  # False: the next sync makes it, or asks for its code
    device_id: str | None = None  # as the server knows this workstation
    # The server refuses the access log (cut back: restored from a backup), and what to do.
    audit_refused: str | None = None


@dataclass(frozen=True)
class SyncResult:
    pushed: int
    pulled: int
    new_conflicts: int
    quarantined: int
    audit_shipped: int
    repaired: int
    digest_ok: bool | None


Secrets = Callable[[Any], Any]  # session -> ClinicSecretBox | None


class FhirMappingMap:
    """The FHIR engineer's mapping as the engine's ``ResourceMap`` (every syncable table).

    ``secrets`` gives the clinic key's box: staff accounts leave sealed and open on arrival."""

    derived: frozenset[str] = frozenset()

    def __init__(self, mapping: Any, secrets: Secrets | None = None) -> None:
        self._m = mapping
        self.tables = tuple(mapping.SYNCABLE_TABLES)
        self._secrets = secrets or (lambda _session: None)

    def resource_for(self, session: Any, table: str, row_id: str) -> dict[str, Any]:
        return dict(self._m.resource_for(session, table, row_id,
                                         secrets=self._secrets(session)))

    def resources_for(self, session: Any, table: str, row_ids: Sequence[str]
                      ) -> dict[str, dict[str, Any]]:
        # Not validated here: the server validates every pushed resource (validate once).
        return dict(self._m.resources_for(session, table, row_ids,
                                          secrets=self._secrets(session), check=False))

    def apply_pulled(self, session: Any, resource: dict[str, Any],
                     server_version: int) -> tuple[str, str]:
        """``apply`` for a resource as the server holds it (validated there): not validated
        again, and not flushed (the pull writes a page at once)."""
        table, rid = self._m.apply_resource(session, resource, server_version=server_version,
                                            secrets=self._secrets(session), check=False,
                                            flush=False)
        return str(table), str(rid)

    def new_record(self, session: Any, resource: dict[str, Any], server_version: int, *,
                   held: bool = False) -> Any:
        """A pulled record no local row holds, as rows to insert with others (the pull);
        ``held``: a newer version of a record a row holds, as rows to write over it."""
        return self._m.new_record(session, resource, server_version=server_version,
                                  secrets=self._secrets(session), held=held)

    def new_records_apart(self, changes: Sequence[dict[str, Any]]
                          ) -> dict[tuple[str, str, int], Any]:
        """``new_record`` for a pulled page's resources, on another thread than the session's,
        by (type, id, version): those whose mapping asks nothing of the store or the clinic key
        (either raises here, as anything else does) are made; the rest are made when applied."""
        made: dict[tuple[str, str, int], Any] = {}
        for change in changes:
            resource = change.get("resource")
            if not isinstance(resource, dict):
                continue
            version = int(change["version"])
            try:
                made[(str(change["resource_type"]), str(change["id"]), version)] = \
                    self._m.new_record(_APART, resource, server_version=version,
                                       secrets=_APART)
            except Exception:  # noqa: BLE001, S112 - made (or refused) when applied, as always
                continue
        return made

    def insert_new(self, session: Any, records: Sequence[Any]) -> None:
        self._m.insert_new(session, records)

    def update_held(self, session: Any, records: Sequence[Any]) -> None:
        self._m.update_held(session, records)

    def table_for(self, resource: dict[str, Any]) -> str:
        return str(self._m.table_for(resource))

    def apply(self, session: Any, resource: dict[str, Any],
              server_version: int | None) -> tuple[str, str]:
        table, rid = self._m.apply_resource(session, resource, server_version=server_version,
                                            secrets=self._secrets(session))
        return str(table), str(rid)

    def model(self, table: str) -> type[Any]:
        return self._m.mapper_for(table).model  # type: ignore[no-any-return]


class _Apart:
    """The session and clinic key a mapping gets on a thread apart: any use raises."""

    def __getattr__(self, name: str) -> Any:
        raise LookupError(f"{name}: not available apart from the session")


_APART: Any = _Apart()


def default_resource_map(secrets: Secrets | None = None) -> ResourceMap:
    try:
        from ..fhir import mapping
    except ImportError:  # the FHIR mapping is not complete yet: Patient and Appointment only
        return FallbackMap()
    return FhirMappingMap(mapping, secrets)


class SyncService:
    def __init__(self, core: ServiceCore, db: ClinicDatabase, *,
                 keystore: KeyStore | None = None, rmap: ResourceMap | None = None) -> None:
        self.core, self.db = core, db
        self.keystore = keystore or KeyStore()
        self.keys = ClinicKeys(core)
        self.workstations = WorkstationRegistry(core)
        self._rmap = rmap
        self.online: bool | None = None

    @property
    def rmap(self) -> ResourceMap:
        """The FHIR mapping, built when first needed: importing it costs ~0.2 s, which the
        application's start would pay before its sign-in window otherwise (the first sync asks
        for it on the sync thread)."""
        if self._rmap is None:
            self._rmap = default_resource_map(self.keys.box)
        return self._rmap

    @rmap.setter
    def rmap(self, value: ResourceMap) -> None:
        self._rmap = value

    # -- the device --------------------------------------------------------------------------

    def _credential_name(self) -> str:
        return device_credential_name(KeyInfo.load(self.db.data_dir).database_id)

    def _settings(self) -> TransportSettings:
        with self.core.sessions() as s:
            url, ca = st.get(s, st.SERVER_URL), st.get(s, st.CA_FILE)
        if not url:
            raise NotEnrolled()
        return TransportSettings(url, Path(ca) if ca else None)

    def enrol_device(self, *, server_url: str, code: str, device_name: str | None = None,
                     ca_file: Path | None = None, clinic_key_code: str | None = None) -> str:
        """Exchange a one-time code for the device credential; returns the clinic's name.

        ``clinic_key_code``: the clinic key code a clinic admin issued on a workstation already
        in use (not needed for the clinic's first workstation). A wrong code leaves the
        workstation enrolled and raises a ``ValidationError`` on ``clinic_key_code``: enter it
        again with ``enter_clinic_key_code``."""
        errors = enrolment_problems(server_url, code, ca_file)
        if errors:
            raise ValidationError(errors)
        settings = TransportSettings(server_url, ca_file, retries=0)
        with SyncClient(settings) as client:
            name = (device_name or local_name(self.core) or socket.gethostname())[:100]
            enrolled = client.enrol(code.strip(), name)
        self.keystore.put(self._credential_name(), enrolled.token.encode())
        with unit_of_work(self.core, None) as uow:
            for key, value in ((st.SERVER_URL, server_url), (st.DEVICE_ID, enrolled.device_id),
                               (st.CLINIC_ID, enrolled.clinic_id),
                               (st.CA_FILE, str(ca_file) if ca_file else None)):
                st.put(uow.session, key, value)
            enrolled_as(uow, name)
            uow.audit("sync.enrol", detail={"device_id": enrolled.device_id,
                                            "server": server_url})
        if clinic_key_code:
            self.enter_clinic_key_code(clinic_key_code)
        return enrolled.clinic_name

    def withdraw_device(self) -> str:
        """As the workstation: give its device credential back to the server, which refuses it
        from then on (a join abandoned after its enrolment code was spent), then forget it.
        Returns the device id. Raises SyncOffline when the server is out of reach (one try, so
        that a cancel does not wait), SyncRefused when it refuses."""
        with self.core.sessions() as s:
            device_id = st.get(s, st.DEVICE_ID)
        if not device_id:
            raise NotEnrolled()
        token = self.keystore.get(self._credential_name())
        if token is None:
            raise NotEnrolled()
        settings = replace(self._settings(), retries=0)
        with SyncClient(settings, token.decode()) as client:
            client.withdraw(str(device_id))
        self.keystore.delete(self._credential_name())
        return str(device_id)

    @contextmanager
    def _client(self) -> Iterator[SyncClient]:
        settings = self._settings()
        token = self.keystore.get(self._credential_name())
        if token is None:
            raise NotEnrolled()
        with SyncClient(settings, token.decode()) as client:
            yield client

    def _clinic_id(self) -> str:
        with self.core.sessions() as s:
            clinic_id = st.get(s, st.CLINIC_ID)
        if not clinic_id:
            raise NotEnrolled()
        return clinic_id

    def enter_clinic_key_code(self, code: str) -> None:
        """As the workstation: receive the clinic key with the code a clinic admin issued."""
        clinic_id = self._clinic_id()
        with self._client() as client:
            self.keys.receive(client, clinic_id, code)
        with unit_of_work(self.core, None) as uow:
            st.put(uow.session, st.LAST_ERROR, None)

    def run_sync(self, *, progress: Progress | None = None) -> SyncResult:
        """One sync now, as the workstation. Raises SyncOffline when the server is unreachable."""
        clinic_id = self._clinic_id()
        try:  # a full disk or a read-only folder mid-sync: told as such, like any save
            with translate_errors(self.db.data_dir, SYNC_STOPPED), self._client() as client:
                self.keys.ensure(client, clinic_id)
                send_pending_name(self.core, client)
                engine = SyncEngine(self.core.sessions, client, self.core.workstation_id,
                                    rmap=self.rmap, clock=self.core.now, progress=progress)
                report = engine.run()
                if self.workstations.after_pull():  # joined: registered once the clinic came
                    engine.push(report)
        except SyncOffline as e:
            self.online = False
            self._note_failure(str(e))
            raise
        except UserError as e:
            self._note_failure(str(e))
            raise
        self.online = True
        result = _result(report)
        with translate_errors(self.db.data_dir, SYNC_STOPPED), unit_of_work(self.core, None) as uow:
            uow.audit("sync.run", detail={k: v for k, v in result.__dict__.items()})
        if report.pulled or report.conflicts:
            self.core.notify("sync.pulled", pulled=report.pulled, conflicts=report.conflicts)
        return result

    def _note_failure(self, message: str) -> None:
        try:
            with unit_of_work(self.core, None) as uow:
                st.put(uow.session, st.LAST_ERROR, message[:500])
        except StoreError:  # the disk is full or read-only: the error is raised all the same
            pass

    def device_status(self) -> SyncStatus:
        """Status for the status bar: no patient data, so not an audited read."""
        with self.core.sessions() as s:
            return self._status(s)

    def _status(self, s: Session) -> SyncStatus:
        pending = s.scalar(select(func.count()).select_from(OutboxChange).where(
            OutboxChange.status == OutboxStatus.PENDING)) or 0
        # Open ones only: a refused change a person has dismissed stops being counted.
        open_ = SyncConflict.resolved_at.is_(None)
        refused = SyncConflict.kind.in_(("rejected", "unsendable"))  # changes not sent
        quarantined = s.scalar(select(func.count()).select_from(SyncConflict).where(
            open_, refused)) or 0
        conflicts = s.scalar(select(func.count()).select_from(SyncConflict).where(
            open_, ~refused)) or 0
        url, last, err = (st.get(s, st.SERVER_URL), st.get(s, st.LAST_SYNC),
                          st.get(s, st.LAST_ERROR))
        key_held = self.keys.held(s) is not None
        device_id = st.get(s, st.DEVICE_ID)
        audit_refused = st.get(s, st.AUDIT_REFUSED)
        return SyncStatus(enrolled=url is not None, server_url=url, online=self.online,
                          last_sync_at=datetime.fromisoformat(last) if last else None,
                          last_error=err, pending_changes=pending, conflicts=conflicts,
                          quarantined=quarantined, clinic_key_held=key_held,
                          device_id=device_id, audit_refused=audit_refused)

    # -- people ------------------------------------------------------------------------------

    @operation(Permission.SETTINGS, "sync.enrol", transactional=False)
    def enrol(self, actor: StaffSession, *, server_url: str, code: str,
              ca_file: Path | None = None, device_name: str | None = None,
              clinic_key_code: str | None = None) -> str:
        return self.enrol_device(server_url=server_url, code=code, ca_file=ca_file,
                                 device_name=device_name, clinic_key_code=clinic_key_code)

    @operation(Permission.SETTINGS, "sync.clinic_key.enter", transactional=False)
    def receive_clinic_key(self, actor: StaffSession, *, code: str) -> None:
        """A clinic admin types the clinic key code on a workstation that lacks the key."""
        self.enter_clinic_key_code(code)

    @operation(Permission.MANAGE_USERS, "sync.clinic_key.issue", transactional=False)
    def issue_clinic_key_code(self, actor: StaffSession) -> str:
        """A new clinic key code to type on a workstation joining the clinic. It replaces the
        previous code on the server (which then stops working); show it to the admin once."""
        clinic_id = self._clinic_id()
        with self._client() as client:
            return self.keys.issue(client, clinic_id, actor)

    @operation(Permission.READ_DEMOGRAPHICS, "sync.now", transactional=False)
    def sync_now(self, actor: StaffSession, *, progress: Progress | None = None) -> SyncResult:
        return self.run_sync(progress=progress)

    @operation(Permission.READ_DEMOGRAPHICS, "sync.status")
    def status(self, uow: UnitOfWork) -> SyncStatus:
        # In the operation's own session: the store has one connection, so a second session
        # here would wait for it until the pool's timeout.
        return self._status(uow.session)

    @operation(Permission.READ_DEMOGRAPHICS, "sync.conflicts", resource_type="SyncConflict")
    def conflicts(self, uow: UnitOfWork) -> list[ConflictInfo]:
        rows = uow.session.scalars(select(SyncConflict).where(SyncConflict.resolved_at.is_(None))
                                   .order_by(SyncConflict.created_at)).all()
        assert uow.actor is not None  # an operation always acts as a person
        return conflict_infos(uow.session, self.rmap, list(rows), uow.actor.role)

    @operation(Permission.WRITE_DEMOGRAPHICS, "sync.resolve", resource_type="SyncConflict",
               resource_arg="conflict_id", refusals=(NotFound, ConflictError, ValidationError))
    def resolve_conflict(self, uow: UnitOfWork, *, conflict_id: str, choice: str) -> None:
        """``choice``: "local" or "remote" (a field); "keep-both", "cancel-local" or
        "cancel-remote" (a double-booking); "apply-to-survivor" (an edit to a patient merged
        away meanwhile); "dismiss" (a refused, deleted, merged or signed record)."""
        c = uow.session.get(SyncConflict, conflict_id)
        if c is None or c.resolved_at is not None:
            raise NotFound("That conflict was already resolved.")
        if uow.actor is None or not may_resolve(uow.actor.role, c.resource_type):
            raise PermissionDenied(Permission.WRITE_CLINICAL.value,
                                   "A clinician resolves conflicts in clinical records.")
        if c.kind == "field" and choice in ("local", "remote"):
            if choice == "remote":
                self._take_remote(uow, c)
        elif c.kind == "double-booking" and choice in ("keep-both", "cancel-local",
                                                       "cancel-remote"):
            ids = json.loads(c.detail or "{}")
            if choice == "keep-both":
                self._keep_both(uow, sorted(ids.values()))
            else:
                self._cancel(uow, ids[f"{choice.removeprefix('cancel-')}_appointment_id"])
        elif c.kind == "merged" and choice == "apply-to-survivor":
            self._apply_to_survivor(uow, c)
        elif choice != "dismiss" or c.kind == "field":
            raise ValidationError({"choice": f"{choice!r} does not resolve a {c.kind} conflict"})
        c.resolved_at, c.resolved_by, c.resolution = self.core.now(), uow.actor.user_id, choice
        uow.audit("sync.resolve", resource_type=c.resource_type, resource_id=c.resource_id,
                  patient_id=c.resource_id if c.resource_type == "Patient" else None,
                  detail={"conflict": c.id, "kind": c.kind, "field": c.field, "choice": choice})
        self.core.notify("sync.conflict_resolved", conflict_id=c.id)

    def _take_remote(self, uow: UnitOfWork, c: SyncConflict) -> None:
        table = self._table_holding(uow, c.resource_type, c.resource_id)
        resource = self.rmap.resource_for(uow.session, table, c.resource_id)
        if is_sealed(resource):
            raise ConflictError("This record was signed since: it can no longer change. "
                                "Add the other value as an addendum.")
        changed = set_field(resource, c.field or "", json.loads(c.remote_value or "null"))
        self.rmap.apply(uow.session, changed, None)
        row = uow.session.get(self.rmap.model(table), c.resource_id)
        assert row is not None  # applied just above
        uow.changed(row)

    def _table_holding(self, uow: UnitOfWork, resource_type: str, resource_id: str) -> str:
        """The local table of a record: by its id, since one FHIR type may come from several
        tables (Basic: staff accounts and note templates; Invoice: invoices and credit notes)."""
        table = table_holding(uow.session, self.rmap, resource_type, resource_id)
        if table is None:
            raise NotFound("The record of that conflict is no longer on this workstation.")
        return table

    def _keep_both(self, uow: UnitOfWork, appointment_ids: list[str]) -> None:
        """Both stay, marked as double-booked on purpose: the mark syncs, and the same clash
        raised on the clinic's other workstations closes there."""
        for appointment_id in appointment_ids:
            a = uow.session.get(Appointment, appointment_id)
            if a is not None and not a.overbook_reason:
                a.overbook_reason = KEPT_BOTH
                uow.changed(a)

    def _apply_to_survivor(self, uow: UnitOfWork, c: SyncConflict) -> None:
        """An edit made to a patient merged away meanwhile, applied to the surviving record."""
        survivor_id = json.loads(c.detail or "{}").get("survivor_id")
        survivor = uow.session.get(Patient, survivor_id or "")
        if survivor is None:
            raise NotFound("The record it was merged into is not on this workstation.")
        resource = self.rmap.resource_for(uow.session, "patient", survivor.id)
        value = _without_part_ids(json.loads(c.local_value or "null"))
        self.rmap.apply(uow.session, set_field(resource, c.field or "", value), None)
        uow.changed(survivor)

    def _cancel(self, uow: UnitOfWork, appointment_id: str) -> None:
        a = uow.session.get(Appointment, appointment_id)
        if a is None:
            raise NotFound("That appointment was not found.")
        if a.status not in ("booked", "arrived"):
            raise ConflictError("That appointment can no longer be cancelled.")
        a.status, a.cancel_reason = "cancelled", "Double-booked (sync conflict)"
        uow.changed(a)


def _without_part_ids(value: Any) -> Any:
    """A value for another record: its parts (phones, identifiers) get ids of their own there."""
    if isinstance(value, list):
        return [_without_part_ids(v) for v in value]
    if isinstance(value, dict):
        return {k: _without_part_ids(v) for k, v in value.items()
                if not (k == "id" and isinstance(v, str) and len(v) == 36)}
    return value


def _result(r: SyncReport) -> SyncResult:
    return SyncResult(r.pushed, r.pulled, r.conflicts, r.quarantined, r.audit_shipped,
                      r.repaired, r.digest_ok)
