"""Open sync conflicts as a person reads them (``ConflictInfo``), for ``SyncService.conflicts``.

Each conflict names the record it is about (``subject``: the patient's name, or the
practitioner's), and a double-booking names both appointments' patient and practitioner, so the
conflicts window needs no further reads. A conflict about a clinical record (notes, results,
problems ...) shows its values only to a role that reads clinical data; for the others it comes
``restricted`` with no values, and only such a role may resolve it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ..domain.dates import weekday_day_text
from ..domain.enums import Role
from ..domain.permissions import Permission, allows
from ..store.models import Patient, Practitioner, SyncConflict
from ..sync.merge import display_value, field_label
from ..sync.merge_cycles import PART_UNITS
from ..sync.resources import ResourceMap
from .scheduling_rules import clinic_hours

CLINICAL_TYPES = frozenset({"Encounter", "Composition", "DiagnosticReport", "Observation",
                            "AllergyIntolerance", "Condition", "MedicationStatement"})


@dataclass(frozen=True)
class ConflictInfo:
    id: str
    kind: str  # field | double-booking | rejected | unsendable | deleted | ...
    resource_type: str
    resource_id: str
    field: str | None
    label: str
    base_value: Any
    local_value: Any
    remote_value: Any
    detail: str | None
    created_at: datetime
    subject: str | None = None  # whose record: "Aoife Byrne"
    restricted: bool = False  # clinical values held back from this role
    # The three values in words for the conflicts window ("2 Quay St, Cork", "0871234567
    # (mobile)", an appointment's time in the clinic's zone); "" when held back or not a field.
    base_text: str = ""
    local_text: str = ""
    remote_text: str = ""
    # A list offered whole (phones, emails, identifiers): the side chosen becomes the record's
    # whole list, the other side's entries are not merged in (``sync.merge_cycles.PART_UNITS``).
    whole_list: bool = False


def may_see(role: Role, resource_type: str) -> bool:
    return resource_type not in CLINICAL_TYPES or allows(role, Permission.READ_CLINICAL)


def may_resolve(role: Role, resource_type: str) -> bool:
    return resource_type not in CLINICAL_TYPES or allows(role, Permission.WRITE_CLINICAL)


def conflict_infos(session: Session, rmap: ResourceMap, rows: list[SyncConflict],
                   role: Role) -> list[ConflictInfo]:
    return [_info(session, rmap, c, role) for c in rows]


def _info(session: Session, rmap: ResourceMap, c: SyncConflict, role: Role) -> ConflictInfo:
    base, local, remote = _load(c.base_value), _load(c.local_value), _load(c.remote_value)
    if c.kind == "double-booking":
        local, remote = _appointment(session, local), _appointment(session, remote)
    restricted = not may_see(role, c.resource_type)
    if restricted:
        base = local = remote = None
    texts = ("", "", "")
    if c.kind in WORDED and not restricted:
        zone = ZoneInfo(clinic_hours(session).timezone)
        texts = (_text(c.field, base, zone), _text(c.field, local, zone),
                 _text(c.field, remote, zone))
    return ConflictInfo(c.id, c.kind, c.resource_type, c.resource_id, c.field,
                        field_label(c.field or c.kind), base, local, remote,
                        None if restricted and c.kind not in NOT_SENT else c.detail, c.created_at,
                        _subject(session, rmap, c.resource_type, c.resource_id), restricted,
                        base_text=texts[0], local_text=texts[1], remote_text=texts[2],
                        whole_list=c.field in PART_UNITS)


WORDED = frozenset({"field", "signed", "merged"})  # conflicts about one unit of a record
# A local change that did not leave: refused by the server, or its body could not be built.
# Its detail is the reason (no clinical value), shown to every role.
NOT_SENT = frozenset({"rejected", "unsendable"})


def _text(unit: str | None, value: Any, zone: ZoneInfo) -> str:
    """A unit's value in words; an appointment's time in the clinic's own zone."""
    if unit == "time" and isinstance(value, dict) and value.get("start"):
        start = datetime.fromisoformat(value["start"]).astimezone(zone)
        end = datetime.fromisoformat(value.get("end") or value["start"]).astimezone(zone)
        return f"{weekday_day_text(start)} {start:%H:%M}–{end:%H:%M}"
    return display_value(value, unit)


def _load(value: str | None) -> Any:
    try:
        return json.loads(value) if value is not None else None
    except ValueError:
        return value


def _person(row: Any) -> str | None:
    if row is None:
        return None
    words = (getattr(row, "prefix", None), row.given, row.family)
    return " ".join(w for w in words if w) or None


def _subject(session: Session, rmap: ResourceMap, resource_type: str,
             resource_id: str) -> str | None:
    """The person a record is about (its patient), or the record's own name."""
    for table in rmap.tables:
        model = rmap.model(table)
        if getattr(model, "__fhir_type__", None) != resource_type:
            continue
        row = session.get(model, resource_id)
        if row is None:
            continue
        if isinstance(row, (Patient, Practitioner)):
            return _person(row)
        patient_id = getattr(row, "patient_id", None)
        return _person(session.get(Patient, patient_id)) if patient_id else None
    return None


def _appointment(session: Session, summary: Any) -> Any:
    if not isinstance(summary, dict):
        return summary
    out = dict(summary)
    out["patient_name"] = _person(session.get(Patient, summary.get("patient_id") or ""))
    out["practitioner_name"] = _person(session.get(Practitioner,
                                                   summary.get("practitioner_id") or ""))
    return out
