"""A patient identifier held under a temporary value on this workstation only.

Two offline workstations may register two patients with the same MRN, or the same PPSN (any
identifier the store keeps unique per system). A workstation that pulls the other's patient
cannot hold that value twice, so it keeps the pulled patient with the value marked as temporary
(``MRN-77~dup-0b6f``) and raises a ``possible-duplicate`` conflict for a person: the same person
(merge) or two people (a new MRN for one; a PPSN corrected where it is wrong). The mark never
leaves the workstation: the FHIR mapping sends the value without it, so the central copy and
the other workstations keep the real value.
"""

from __future__ import annotations

import re

MRN_SYSTEM = "urn:clinic:mrn"
_MARK = re.compile(r"~dup-[0-9a-f]{4}$")


def temporary(value: str, patient_id: str) -> str:
    """The value held here for the pulled patient ``patient_id`` whose ``value`` clashes."""
    return f"{value}~dup-{patient_id.replace('-', '')[:4].lower()}"


def is_temporary(value: str | None) -> bool:
    return bool(value) and _MARK.search(value or "") is not None


def real(value: str) -> str:
    """The value as the clinic knows it (a temporary value without its mark)."""
    return _MARK.sub("", value)
