"""Looking at the access log (clinic admins, VIEW_AUDIT): search, export, verify, access report.

Looking is itself logged: every search, export and report writes an entry. Exports carry the
chain (hash and previous hash on every line) and a sealed closing anchor (``audit.jsonl``).
"""

from __future__ import annotations

import csv
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..audit.chain import ChainReport, verify_chain
from ..audit.jsonl import verify_file, write_jsonl
from ..documents.access_report import AccessReport, AccessReportRow, access_report_pdf
from ..domain.errors import NotFound, ValidationError
from ..domain.permissions import Permission
from ..domain.session import StaffSession
from ..store import audit_log
from ..store.models import AuditEntry, Clinic, Patient, Setting, Workstation
from .accounts_dto import AuditEntryInfo, AuditPage, ChainCheck
from .base import ServiceCore, UnitOfWork, operation
from .clinic_letterhead import clinic_letterhead

MAC_KEY = "audit.export_mac_key"
CSV_COLUMNS = ("seq", "at", "username", "role", "action", "outcome", "resource_type",
               "resource_id", "patient_id", "break_glass", "reason", "workstation_id", "hash")


@dataclass(frozen=True)
class AuditFilter:
    patient_id: str | None = None
    username: str | None = None
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None


def _info(r: AuditEntry, names: dict[str, str] | None = None) -> AuditEntryInfo:
    return AuditEntryInfo(r.seq, r.at, r.username, r.role, r.action, r.outcome, r.resource_type,
                          r.resource_id, r.patient_id, bool(r.break_glass), r.reason,
                          r.workstation_id, r.detail, (names or {}).get(r.workstation_id))


def _workstation_names(s: Session, rows: Sequence[AuditEntry]) -> dict[str, str]:
    """The current names of the workstations that wrote ``rows`` (renamed ones included: the
    entry keeps the id, the name shown is the one the workstation has now)."""
    ids = {r.workstation_id for r in rows}
    rows_ = s.execute(select(Workstation.id, Workstation.name).where(Workstation.id.in_(ids)))
    return {ws_id: name for ws_id, name in rows_} if ids else {}


def export_mac_key(s: Session) -> bytes:
    """The key that seals export anchors; it never leaves the encrypted database."""
    row = s.get(Setting, MAC_KEY)
    if row is None:
        row = Setting(key=MAC_KEY, value=secrets.token_hex(32))
        s.add(row)
        s.flush()
    return bytes.fromhex(row.value)


def verify_database(s: Session) -> ChainReport:
    """The chain as stored, and the high-water mark that reveals a cut-and-regrown tail."""
    report = verify_chain(audit_log.iter_entries(s))
    mark = audit_log.high_water(s)
    if not report.intact or mark is None:
        return report
    seq, expected = mark
    found = s.scalar(select(AuditEntry.hash).where(AuditEntry.seq == seq))
    if found is None:
        return ChainReport(report.count, report.count + 1,
                           f"the log ends before entry {seq}, which was written earlier (tail cut)")
    if found != expected:
        return ChainReport(report.count, seq, "the log was cut back and rewritten from here: this "
                           "entry differs from the one first recorded with this number")
    return report


class AuditService:
    def __init__(self, core: ServiceCore) -> None:
        self.core = core

    def _zone(self, s: Session) -> ZoneInfo:
        return ZoneInfo(s.scalars(select(Clinic.timezone)).first() or "UTC")

    def _query(self, s: Session, f: AuditFilter) -> Select[Any]:
        q = select(AuditEntry)
        if f.patient_id:
            q = q.where(AuditEntry.patient_id == f.patient_id)
        if f.username:
            q = q.where(AuditEntry.username == f.username.strip().lower())
        if f.action:
            q = q.where(AuditEntry.action.startswith(f.action.strip()))
        zone = self._zone(s)
        if f.date_from:
            q = q.where(AuditEntry.at >= datetime.combine(f.date_from, time(), zone))
        if f.date_to:
            day_after = f.date_to + timedelta(days=1)
            q = q.where(AuditEntry.at < datetime.combine(day_after, time(), zone))
        return q

    @operation(Permission.VIEW_AUDIT, "audit.search", patient_arg="patient_id",
               resource_type="AuditEvent")
    def search(self, uow: UnitOfWork, *, patient_id: str | None = None, username: str | None = None,
               action: str | None = None, date_from: date | None = None,
               date_to: date | None = None, offset: int = 0, limit: int = 100) -> AuditPage:
        """Newest first, a page at a time."""
        if date_from and date_to and date_to < date_from:
            raise ValidationError({"date_to": "The end date is before the start date."})
        s = uow.session
        q = self._query(s, AuditFilter(patient_id, username, action, date_from, date_to))
        total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
        rows = s.scalars(q.order_by(AuditEntry.seq.desc()).offset(max(offset, 0))
                         .limit(max(1, min(limit, 1000)))).all()
        names = _workstation_names(s, rows)
        return AuditPage(tuple(_info(r, names) for r in rows), total, offset, limit)

    @operation(Permission.VIEW_AUDIT, "audit.export.csv", patient_arg="patient_id")
    def export_csv(self, uow: UnitOfWork, *, out: Path, patient_id: str | None = None,
                   username: str | None = None, action: str | None = None,
                   date_from: date | None = None, date_to: date | None = None) -> int:
        s = uow.session
        q = self._query(s, AuditFilter(patient_id, username, action, date_from, date_to))
        count = 0
        with Path(out).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(CSV_COLUMNS)
            for row in s.scalars(q.order_by(AuditEntry.seq).execution_options(yield_per=2000)):
                d = audit_log.entry_dict(row)
                writer.writerow([d[c] for c in CSV_COLUMNS])
                count += 1
        uow.audit("audit.export.csv", patient_id=patient_id,
                  detail={"file": Path(out).name, "entries": count})
        return count

    @operation(Permission.VIEW_AUDIT, "audit.export.jsonl")
    def export_jsonl(self, uow: UnitOfWork, *, out: Path) -> int:
        """The whole chain, one entry a line, then the sealed anchor (see audit.jsonl)."""
        s = uow.session
        # Log first, so that the export itself is the last link of the exported chain.
        uow.audit("audit.export.jsonl", detail={"file": Path(out).name})
        key = export_mac_key(s)
        s.flush()
        with Path(out).open("w", encoding="utf-8") as fh:
            return write_jsonl(audit_log.iter_entries(s), fh, high_water=audit_log.high_water(s),
                               mac_key=key)

    @operation(Permission.VIEW_AUDIT, "audit.verify")
    def verify(self, uow: UnitOfWork) -> ChainCheck:
        report = verify_database(uow.session)
        uow.audit("audit.verify", detail={"count": report.count, "intact": report.intact,
                                          "first_bad_seq": report.first_bad_seq})
        return ChainCheck(report.count, report.intact, report.first_bad_seq, report.problem)

    @operation(Permission.VIEW_AUDIT, "audit.verify_file")
    def verify_file(self, uow: UnitOfWork, *, path: Path) -> ChainCheck:
        """An exported file, its anchor's seal included (the key is in this database)."""
        report, _sealed = verify_file(Path(path), export_mac_key(uow.session))
        uow.audit("audit.verify_file", detail={"file": Path(path).name, "intact": report.intact})
        return ChainCheck(report.count, report.intact, report.first_bad_seq, report.problem)

    @operation(Permission.VIEW_AUDIT, "audit.access_report", patient_arg="patient_id",
               resource_type="Patient")
    def access_report_document(self, uow: UnitOfWork, *, patient_id: str) -> AccessReport:
        """"Who accessed this record": every entry naming the patient (the report is logged)."""
        s = uow.session
        patient = s.get(Patient, patient_id)
        if patient is None:
            raise NotFound("That patient does not exist.")
        zone = self._zone(s)
        rows = tuple(
            AccessReportRow(r.at.astimezone(zone), r.username or "", r.role or "", r.action,
                            r.outcome, bool(r.break_glass), r.reason or "")
            for r in s.scalars(select(AuditEntry).where(AuditEntry.patient_id == patient_id)
                               .order_by(AuditEntry.seq))
        )
        uow.audit("audit.access_report", resource_type="Patient", resource_id=patient_id,
                  patient_id=patient_id, detail={"entries": len(rows)})
        return AccessReport(clinic_letterhead(s), f"{patient.given} {patient.family}",
                            patient.birth_date, rows, self.core.now().astimezone(zone))

    def access_report_pdf(self, actor: StaffSession, *, patient_id: str) -> bytes:
        """The report as PDF bytes, rendered outside the transaction (to print or save)."""
        return access_report_pdf(self.access_report_document(actor, patient_id=patient_id))
