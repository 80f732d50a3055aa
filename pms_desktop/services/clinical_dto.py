"""Plain frozen dataclasses handed back by the clinical service (never ORM objects).

Times are aware UTC datetimes; the UI shows them in the clinic's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class EncounterInfo:
    id: str
    patient_id: str
    practitioner_id: str
    appointment_id: str | None
    status: str  # EncounterStatus
    start_at: datetime
    end_at: datetime | None
    reason: str | None


@dataclass(frozen=True)
class NoteInfo:
    id: str
    patient_id: str
    encounter_id: str | None
    kind: str  # NoteKind: note | addendum
    addendum_to_id: str | None
    template: str | None
    subjective: str
    objective: str
    assessment: str
    plan: str
    status: str  # NoteStatus
    author_id: str
    author_name: str
    created_at: datetime
    updated_at: datetime
    signed_at: datetime | None
    signed_by_name: str | None
    content_hash: str | None
    intact: bool  # the signed content still matches its hash
    addenda: tuple[NoteInfo, ...] = ()
    # Signed in a record merged into this one since ("record MRN 1234 (merged)"); None: here.
    signed_in_record: str | None = None

    @property
    def signed(self) -> bool:
        return self.status == "signed"

    @property
    def text(self) -> str:
        """The addendum's text (kept in ``subjective``), or the SOAP note as plain text."""
        if self.kind == "addendum":
            return self.subjective
        parts = [("S", self.subjective), ("O", self.objective), ("A", self.assessment),
                 ("P", self.plan)]
        return "\n".join(f"{k}: {v}" for k, v in parts if v.strip())


@dataclass(frozen=True)
class NoteTemplateInfo:
    id: str | None  # None: a template shipped with the application
    name: str
    subjective: str
    objective: str
    assessment: str
    plan: str


@dataclass(frozen=True)
class ComponentInfo:
    code: str
    display: str
    value: Decimal | None
    unit: str | None
    interpretation: str | None


@dataclass(frozen=True)
class ObservationInfo:
    id: str
    patient_id: str
    encounter_id: str | None
    category: str  # vital-signs | laboratory
    code: str
    display: str
    effective_at: datetime
    value: Decimal | None
    unit: str | None
    value_text: str | None
    interpretation: str | None  # N, H, L, HH, LL, A
    ref_low: Decimal | None
    ref_high: Decimal | None
    components: tuple[ComponentInfo, ...] = ()

    @property
    def abnormal(self) -> bool:
        flags = [self.interpretation] + [c.interpretation for c in self.components]
        return any(f not in (None, "", "N") for f in flags)


@dataclass(frozen=True)
class TrendPoint:
    at: datetime
    value: Decimal
    interpretation: str | None


@dataclass(frozen=True)
class VitalSeries:
    code: str  # the LOINC code of the value (8480-6 for systolic, from the BP panel)
    label: str
    unit: str
    points: tuple[TrendPoint, ...]


@dataclass(frozen=True)
class AllergyInfo:
    id: str
    patient_id: str
    substance: str
    reaction: str | None
    severity: str  # mild | moderate | severe
    criticality: str
    clinical_status: str  # active | inactive | resolved | entered-in-error
    recorded_at: datetime


@dataclass(frozen=True)
class ProblemInfo:
    id: str
    patient_id: str
    display: str
    code: str | None
    onset: date | None
    abatement: date | None
    clinical_status: str  # active | inactive | resolved | entered-in-error
    note: str | None


@dataclass(frozen=True)
class MedicationInfo:
    id: str
    patient_id: str
    name: str
    dose: str | None
    route: str | None
    frequency: str | None
    status: str  # active | stopped | entered-in-error
    started_on: date | None
    stopped_on: date | None


@dataclass(frozen=True)
class ReportInfo:
    id: str
    patient_id: str
    code: str
    display: str
    status: str
    issued_at: datetime
    performer: str | None
    conclusion: str | None
    reviewed_at: datetime | None
    reviewed_by_name: str | None
    observations: tuple[ObservationInfo, ...] = ()

    @property
    def abnormal(self) -> bool:
        return any(o.abnormal for o in self.observations)


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # encounter | note | vitals | result
    at: datetime
    title: str
    detail: str
    ref_id: str
    abnormal: bool = False


@dataclass(frozen=True)
class PatientHeader:
    id: str
    name: str
    birth_date: date
    sex: str
    age_years: int


@dataclass(frozen=True)
class ChartSummary:
    patient: PatientHeader
    allergies: tuple[AllergyInfo, ...]
    problems: tuple[ProblemInfo, ...]
    medications: tuple[MedicationInfo, ...]
    latest_vitals: tuple[ObservationInfo, ...]
    open_encounter: EncounterInfo | None
    unreviewed_results: int = 0


@dataclass(frozen=True)
class LetterDraft:
    kind: str  # referral | certificate
    fields: dict[str, str] = field(default_factory=dict)
