"""One identifier registered for two patients on two offline workstations: keep both, flag it.

Patient identifiers are unique on a workstation per system (an MRN, a PPSN ...). A pulled patient
whose identifier another patient here already has cannot be held with that value. Instead of
leaving the patient out (a patient who may be in the waiting room), the workstation holds it
with the value marked as temporary (``domain/held_identifiers.py``), locally only: no outbox
change, the merge base keeps the real value, and the FHIR mapping sends the real value should
the record be edited here. A ``possible-duplicate`` conflict per clashing identifier names both
patients and the identifier for a person to decide: the same person (merge) or two people (an
MRN: give one a new MRN; a PPSN, a person's real number: correct the wrong one), which syncs
like any edit.

``settle`` closes the conflict once the clash is gone: the temporary value was replaced (the
identifier corrected), the other patient no longer holds the value (corrected or merged away:
the real value comes back here, again locally only), or the two were merged.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import held_identifiers as held
from ..store.models import Patient, PatientIdentifier

Json = dict[str, Any]
KIND = "possible-duplicate"
FIELD = "(possible duplicate)"


@dataclass(frozen=True)
class Clash:
    """The pulled patient's identifier ``system``/``value`` (``label``: "MRN", "PPSN") that the
    patient ``holder`` here already has."""

    system: str
    label: str
    value: str
    holder: str

    @property
    def field(self) -> str:
        """The conflict's unit: one conflict per identifier (the MRN's as it always was)."""
        return FIELD if self.system == held.MRN_SYSTEM else f"(possible duplicate: {self.label})"

    def detail(self, patient_id: str) -> Json:
        out = {"patient_id": patient_id, "other_id": self.holder, "system": self.system,
               "label": self.label, "value": self.value}
        if self.system == held.MRN_SYSTEM:
            out["mrn"] = self.value
        return out

    @classmethod
    def of(cls, detail: Json) -> Clash:
        """From a conflict's detail (those written before other identifiers: an MRN's)."""
        system = str(detail.get("system") or held.MRN_SYSTEM)
        return cls(system, str(detail.get("label") or "MRN"),
                   str(detail.get("value") or detail.get("mrn")), str(detail.get("other_id")))


def clashes(s: Session, rid: str, resource: Json) -> list[Clash]:
    """The identifiers of the pulled patient ``rid`` that another patient here holds."""
    out: list[Clash] = []
    for i in resource.get("identifier") or ():
        system, value = i.get("system"), i.get("value")
        if not system or not value:
            continue
        holder = s.scalar(select(PatientIdentifier.patient_id).where(
            PatientIdentifier.system == system, PatientIdentifier.value == value,
            PatientIdentifier.patient_id != rid))
        if holder is not None:
            label = (i.get("type") or {}).get("text") or system.rsplit(":", 1)[-1].upper()
            out.append(Clash(str(system), str(label), str(value), str(holder)))
    return out


def marked(resource: Json, rid: str, found: list[Clash]) -> Json:
    """The resource as held here: the clashing identifiers under their temporary values."""
    out = copy.deepcopy(resource)
    clashing = {(c.system, c.value) for c in found}
    for i in out.get("identifier") or ():
        if (i.get("system"), i.get("value")) in clashing:
            i["value"] = held.temporary(str(i["value"]), rid)
    return out


def summary(s: Session, patient_id: str, clash: Clash) -> Json:
    """What the conflicts window shows of one of the two patients: who, born when, the MRN
    (that names the record in the clinic) and the identifier they share."""
    shared = {"patient_id": patient_id, "system": clash.system, "label": clash.label,
              "value": clash.value}
    p = s.get(Patient, patient_id)
    if p is None:
        return {**shared, "mrn": clash.value if clash.system == held.MRN_SYSTEM else None}
    mrn = next((held.real(i.value) for i in p.identifiers if i.system == held.MRN_SYSTEM), None)
    return {**shared, "name": " ".join(w for w in (p.given, p.family) if w),
            "birth_date": p.birth_date.isoformat() if p.birth_date else None, "mrn": mrn}


def settle(s: Session, pid: str, clash: Clash) -> bool:
    """True when the clash of the pulled patient ``pid`` with ``clash.holder`` is over
    (restoring the real value here where nobody else holds it any more)."""
    p = s.get(Patient, pid)
    if p is None:
        return True
    temp = [i for i in p.identifiers if i.system == clash.system and
            held.is_temporary(i.value) and held.real(i.value) == clash.value]
    if not temp:
        return True  # corrected here or by the sync of a correction elsewhere
    holder = s.scalar(select(PatientIdentifier.patient_id).where(
        PatientIdentifier.system == clash.system, PatientIdentifier.value == clash.value))
    if holder is None:  # the other one was corrected or merged away: the real value is free
        temp[0].value = clash.value
        for extra in temp[1:]:
            p.identifiers.remove(extra)
        s.flush()
        return True
    if holder == pid:  # a merge brought the real value to this record too
        for extra in temp:
            p.identifiers.remove(extra)
        s.flush()
        return True
    o = s.get(Patient, holder)
    return p.merged_into_id == holder or (o is not None and o.merged_into_id == pid)
