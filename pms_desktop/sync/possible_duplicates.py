"""The same MRN registered for two patients on two offline workstations: keep both, flag it.

A pulled patient whose MRN another patient here already has cannot be held with that value
(it is unique on the workstation). Instead of leaving the patient out (a patient who may be in
the waiting room), the workstation holds it with the value marked as temporary
(``domain/held_identifiers.py``), locally only: no outbox change, the merge base keeps the real
value, and the FHIR mapping sends the real value should the record be edited here. A
``possible-duplicate`` conflict names both patients for a person to decide: the same person
(merge) or two people (give one a new MRN, which syncs like any edit).

``settle`` closes the conflict once the clash is gone: the temporary value was replaced (the
patient renumbered), the other patient no longer holds the value (renumbered or merged away:
the real value comes back here, again locally only), or the two were merged.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import held_identifiers as held
from ..store.models import Patient, PatientIdentifier

Json = dict[str, Any]
KIND = "possible-duplicate"
FIELD = "(possible duplicate)"


def clashes(s: Session, rid: str, resource: Json) -> dict[str, str]:
    """{MRN of the pulled patient ``rid``: the other patient here that holds it}."""
    out: dict[str, str] = {}
    for i in resource.get("identifier") or ():
        value = i.get("value")
        if i.get("system") != held.MRN_SYSTEM or not value:
            continue
        holder = s.scalar(select(PatientIdentifier.patient_id).where(
            PatientIdentifier.system == held.MRN_SYSTEM, PatientIdentifier.value == value,
            PatientIdentifier.patient_id != rid))
        if holder is not None:
            out[str(value)] = str(holder)
    return out


def marked(resource: Json, rid: str, values: set[str]) -> Json:
    """The resource as held here: the clashing MRNs under their temporary values."""
    out = copy.deepcopy(resource)
    for i in out.get("identifier") or ():
        if i.get("system") == held.MRN_SYSTEM and i.get("value") in values:
            i["value"] = held.temporary(str(i["value"]), rid)
    return out


def summary(s: Session, patient_id: str, mrn: str) -> Json:
    """What the conflicts window shows of one of the two patients."""
    p = s.get(Patient, patient_id)
    if p is None:
        return {"patient_id": patient_id, "mrn": mrn}
    return {"patient_id": p.id, "name": " ".join(w for w in (p.given, p.family) if w),
            "birth_date": p.birth_date.isoformat() if p.birth_date else None, "mrn": mrn}


def settle(s: Session, pid: str, other: str, mrn: str) -> bool:
    """True when the clash of the pulled patient ``pid`` with ``other`` on ``mrn`` is over
    (restoring the real value here where nobody else holds it any more)."""
    p = s.get(Patient, pid)
    if p is None:
        return True
    temp = [i for i in p.identifiers if i.system == held.MRN_SYSTEM and
            held.is_temporary(i.value) and held.real(i.value) == mrn]
    if not temp:
        return True  # renumbered here or by the sync of a renumbering elsewhere
    holder = s.scalar(select(PatientIdentifier.patient_id).where(
        PatientIdentifier.system == held.MRN_SYSTEM, PatientIdentifier.value == mrn))
    if holder is None:  # the other one was renumbered or merged away: the real value is free
        temp[0].value = mrn
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
