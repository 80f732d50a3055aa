"""The admin command line's entries in the server's own access chain.

``pms-sync-server admin ...`` runs as an OS user with the store open, so no HTTP request (and no
access middleware) sees it. Every command appends one entry to the server's chain through
``server_log.append_in``: who ran it (``cli:<OS user>@<host>``), the command, its target (clinic,
device, system client, admin name) and its outcome, never a secret (an enrolment code, a client
secret, a password or a TOTP secret). A refused command is recorded too, with its safe message.
An entry that names a clinic is also stored as a FHIR ``AuditEvent`` of that clinic, so that
the clinic's own AuditEvent search shows what a central admin did to its devices and clients;
the chain entry is kept verbatim in ``entity.detail`` (as for workstation entries). The admin
API's changing routes (``api/middleware.audited_change``) write their entries through the same
``append_in`` (``Concerning``), so a clinic's audit shows what was done to it by either door.

A command that changes something (``CHANGES``) appends its entry inside the transaction of the
change (``InWork``, the use case's ``audit`` hook), as every audited write of the project does:
both commit or neither does, so a crash, a lock timeout or a lost connection between them cannot
leave a change nobody recorded. If the entry cannot be written the change is undone and the
command fails (``AuditFailed``). Refusals and read-only commands change nothing, so their entry
(``record``) has a transaction of its own.
"""

from __future__ import annotations

import getpass
import socket
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync_server.audit import server_log
from sync_server.errors import ServerError
from sync_server.store.clock import now_instant
from sync_server.store.db import Database
from sync_server.store.models import Clinic, Device, ServerAuditEntry, SystemClient
from sync_server.store.resources import ResourceWriter

INTERACTION = "admin-cli"
_NAMESPACE = uuid.UUID("0b8d1c52-52a4-4d2e-9d3c-2f6f0f6a4e11")
_DCM = "http://dicom.nema.org/resources/ontology/DCM"
# Commands that change who can reach a clinic's data ("U"pdate); the rest read ("R"). An
# AuditEvent's action is the one attempted: a refused or failed attempt keeps it, and its
# outcome ("4", not "0") and outcomeDesc say it did not happen (FHIR's way for a failed attempt).
CHANGES = frozenset({"clinic-add", "enrol-code", "device-revoke", "admin-add",
                     "system-client-add", "system-client-revoke"})


def actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = "unknown"
    return f"cli:{user}@{socket.gethostname()}"[:200]


class AuditFailed(ServerError):
    """A change's entry could not be written, so the change was undone."""


class InWork:
    """The ``audit`` hook of a state-changing use case: appends the command's "done" entry in
    the change's own transaction, with what the change made (a new clinic or client id) added to
    ``target``. ``seq`` is the entry's once written (it is committed when the call returns)."""

    def __init__(self, command: str, target: dict[str, Any]) -> None:
        self.command, self.target = command, target
        self.seq: int | None = None

    def __call__(self, session: Session, made: dict[str, Any]) -> None:
        self.target.update(made)
        try:
            seq = record_in(session, self.command, outcome="done", target=self.target)
        except Exception as exc:  # any failure: the change must not commit without its entry
            raise AuditFailed(f"{self.command} not done: its entry in the server's access log "
                              f"could not be written ({type(exc).__name__}); nothing was "
                              "changed, retry later") from exc
        self.seq = seq


def record(db: Database, command: str, *, outcome: str, target: dict[str, Any],
           error: str | None = None) -> int:
    """Append the entry of a command that changed nothing, in a transaction of its own."""
    with db.write() as session:
        return record_in(session, command, outcome=outcome, target=target, error=error)


def record_in(session: Session, command: str, *, outcome: str, target: dict[str, Any],
              error: str | None = None) -> int:
    """Append the command's entry (and its clinic's AuditEvent) in the open write transaction;
    returns the entry's seq."""
    clinic_id = clinic_of(session, target)
    fields: dict[str, Any] = {
        "at": now_instant(), "actor": actor(), "interaction": INTERACTION,
        "command": command, "outcome": outcome, "clinic_id": clinic_id,
        **{k: v for k, v in target.items() if v is not None}}
    if error is not None:
        fields["error"] = error[:500]
    concerning = None if clinic_id is None else Concerning(
        clinic_id, command, outcome, changes=command in CHANGES,
        device_id=target.get("device_id"), error=fields.get("error"), door=CLI)
    return append_in(session, fields, concerning)


@dataclass(frozen=True)
class Door:
    """How a central admin acted, as a clinic's AuditEvent names it."""

    role: str
    observer: str


CLI = Door("central admin (command line)", "pms-sync-server admin")
API = Door("central admin (admin API)", "pms-sync-server admin API")


@dataclass(frozen=True)
class Concerning:
    """What a central admin's chain entry did to a clinic, for the clinic's AuditEvent."""

    clinic_id: str
    command: str  # the CLI command or the API interaction: "device-revoke", ...
    outcome: str  # "done", "refused" or "failed"
    changes: bool
    device_id: str | None = None
    error: str | None = None  # a refusal's safe message
    door: Door = CLI


def append_in(session: Session, fields: dict[str, Any], concerning: Concerning | None) -> int:
    """Append a central admin's entry to the server's chain in the open write transaction and,
    when it concerns a clinic, that clinic's AuditEvent carrying it verbatim; returns its seq.
    The one path of both admin doors (command line and admin API)."""
    # The clinic's lock before the chain's head, as every clinic write takes them.
    writer = ResourceWriter(session, concerning.clinic_id) if concerning else None
    seq = server_log.append_in(session, fields)
    if writer is not None and concerning is not None:
        writer.save("AuditEvent", str(uuid.uuid5(_NAMESPACE, f"server:{seq}")),
                    _audit_event(session, seq, fields, concerning), None)
    return seq


def clinic_of(session: Session, target: dict[str, Any]) -> str | None:
    """The existing clinic the target (``clinic_id``, ``device_id`` or ``client_id``) belongs
    to, or None (admin-add, clinic-list, a typo)."""
    session.flush()  # a clinic or client the same transaction added is then found
    clinic_id = target.get("clinic_id")
    if isinstance(clinic_id, str) and session.get(Clinic, clinic_id) is not None:
        return clinic_id
    if isinstance(target.get("device_id"), str):
        device = session.get(Device, target["device_id"])
        return device.clinic_id if device is not None else None
    if isinstance(target.get("client_id"), str):
        client = session.get(SystemClient, target["client_id"])
        return client.clinic_id if client is not None else None
    return None


def _audit_event(session: Session, seq: int, fields: dict[str, Any],
                 what: Concerning) -> dict[str, Any]:
    # The full chain entry (hash included) lets anyone check the event against the chain.
    verbatim = session.execute(select(ServerAuditEntry.entry)
                               .where(ServerAuditEntry.seq == seq)).scalar_one()
    entities: list[dict[str, Any]] = []
    if what.device_id:
        entities.append({"what": {"identifier": {"value": what.device_id},
                                  "display": f"Device {what.device_id}"}})
    entities.append({"what": {"display": f"server audit seq {seq}"},
                     "detail": [{"type": "pms-chain-entry", "valueString": verbatim}]})
    said = f"{what.door.observer} {what.command}: {what.outcome}"
    return {
        "resourceType": "AuditEvent",
        "type": {"system": _DCM, "code": "110113", "display": "Security Alert"},
        "subtype": [{"system": _DCM, "code": "110129", "display": "Security Configuration"}],
        "action": "U" if what.changes else "R",
        "recorded": fields["at"],
        "outcome": "0" if what.outcome == "done" else "4",
        "outcomeDesc": f"{said} ({what.error})" if what.error else said,
        "agent": [{"requestor": True, "who": {"display": str(fields.get("actor") or "?")},
                   "role": [{"text": what.door.role}]}],
        "source": {"observer": {"display": what.door.observer}},
        "entity": entities,
    }
