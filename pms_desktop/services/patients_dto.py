"""What the patients service takes and hands back: plain frozen dataclasses.

``PatientDraft`` is the registration/edit form as typed (text fields keep their names: a
``ValidationError`` names the same fields so the form can mark them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

# Identifier kinds the form offers: field name -> (system URI, label shown).
IDENTIFIER_KINDS: dict[str, tuple[str, str]] = {
    "mrn": ("urn:clinic:mrn", "MRN"),
    "national_id": ("urn:ie:ppsn", "PPSN"),
}


@dataclass(frozen=True)
class PatientDraft:
    given: str = ""
    family: str = ""
    birth_date: str | date = ""
    sex: str = "unknown"
    prefix: str = ""
    middle: str = ""
    preferred_name: str = ""
    phone: str = ""  # mobile
    phone_home: str = ""
    email: str = ""
    address_line: str = ""
    address_line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""
    mrn: str = ""
    national_id: str = ""
    emergency_name: str = ""
    emergency_relationship: str = ""
    emergency_phone: str = ""
    coverage_payer: str = ""
    coverage_member_id: str = ""
    coverage_plan: str = ""
    reception_notes: str = ""


@dataclass(frozen=True)
class PatientSummary:
    id: str
    given: str
    family: str
    birth_date: date
    age: int
    sex: str
    phone: str
    identifiers: str
    active: bool = True

    @property
    def display_name(self) -> str:
        return f"{self.family.upper()}, {self.given}"


@dataclass(frozen=True)
class DuplicateCandidate:
    patient: PatientSummary
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class BannerData:
    id: str
    name: str
    age: int
    birth_date: date
    sex: str
    identifiers: tuple[tuple[str, str], ...]
    alerts: tuple[str, ...]
    allergies: tuple[str, ...]
    active: bool
    merged_into_id: str | None


@dataclass(frozen=True)
class AlertInfo:
    id: str
    category: str
    text: str


@dataclass(frozen=True)
class PatientDetail:
    id: str
    draft: PatientDraft  # every editable field, as the form shows it
    birth_date: date
    age: int
    active: bool
    merged_into_id: str | None
    created_revision: int
    alerts: tuple[AlertInfo, ...] = ()
    updated_at: datetime | None = None

    @property
    def name(self) -> str:
        d = self.draft
        parts = [d.prefix, d.given, d.middle, d.family]
        return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class MergeInfo:
    id: str
    survivor_id: str
    merged_id: str
    merged_at: datetime
    moved: dict[str, list[str]] = field(default_factory=dict)
    reverted_at: datetime | None = None
