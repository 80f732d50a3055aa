"""Letters from the chart: a referral letter or a medical certificate, as PDF.

``letter_draft`` pre-fills the template's fields from the chart (latest assessment, problems,
medications, allergies, latest vitals); the clinician edits them; ``letter_pdf`` checks the
permission and reads what it needs in one audited transaction, then renders the PDF outside it
(rendering must not hold the database's write lock). The PDF comes back as bytes: the screen
prints it or saves it where the person chose, and no copy goes to a temporary folder.
"""

from __future__ import annotations

from sqlalchemy import select

from ..documents.letters import LetterDocument, letter_pdf, template_fields
from ..domain.dates import long_day_text
from ..domain.errors import ValidationError
from ..domain.permissions import Permission
from ..domain.session import StaffSession
from ..store.models import (
    Allergy,
    Clinic,
    ClinicalNote,
    Medication,
    PatientIdentifier,
    Practitioner,
    Problem,
)
from .base import ServiceCore, UnitOfWork, operation
from .clinic_letterhead import letterhead
from .clinical_dto import LetterDraft
from .clinical_encounters import clinic_zone
from .clinical_rows import patient_row
from .clinical_timeline import vitals_line
from .clinical_vitals import latest_by_code, vital_rows

KINDS = ("referral", "certificate")
REQUIRED = {"referral": ("recipient_name", "reason"),
            "certificate": ("condition", "unfit_from", "unfit_to")}


def _lines(values: list[str], empty: str) -> str:
    return "\n".join(values) if values else empty


class LetterOps:
    core: ServiceCore

    def _check_kind(self, kind: str) -> None:
        if kind not in KINDS:
            raise ValidationError({"kind": "Choose a referral letter or a medical certificate."})

    @operation(Permission.READ_CLINICAL, "letter.draft", patient_arg="patient_id",
               resource_type="Patient")
    def letter_draft(self, uow: UnitOfWork, *, patient_id: str, kind: str) -> LetterDraft:
        self._check_kind(kind)
        s = uow.session
        patient_row(s, patient_id)
        # Typed fields: the clinician edits these dates as they type dates (dd/mm/yyyy).
        today = self.core.now().astimezone(clinic_zone(s)).strftime("%d/%m/%Y")
        last = s.scalars(select(ClinicalNote).where(
            ClinicalNote.patient_id == patient_id, ClinicalNote.status == "signed",
            ClinicalNote.kind == "note").order_by(ClinicalNote.signed_at.desc())).first()
        impression = ((last.assessment or "").strip().splitlines() or [""])[0] if last else ""
        if kind == "certificate":
            fields = {"condition": impression.rstrip("."), "unfit_from": today,
                      "unfit_to": today, "remarks": ""}
            return LetterDraft(kind, fields)
        problems = [p.display + (f" (since {p.onset:%Y})" if p.onset else "")
                    for p in s.scalars(select(Problem).where(
                        Problem.patient_id == patient_id, Problem.clinical_status == "active"))]
        meds = [" ".join(x for x in (m.name, m.dose, m.frequency) if x)
                for m in s.scalars(select(Medication).where(
                    Medication.patient_id == patient_id, Medication.status == "active"))]
        allergies = [a.substance + (f" ({a.reaction})" if a.reaction else "")
                     for a in s.scalars(select(Allergy).where(
                         Allergy.patient_id == patient_id, Allergy.clinical_status == "active"))]
        vitals = vitals_line(latest_by_code(vital_rows(s, patient_id)))
        fields = {"recipient_name": "", "recipient_address": "", "reason": impression.rstrip("."),
                  "urgency": "Routine", "history": _lines(problems, ""),
                  "findings": vitals, "medications": _lines(meds, "None"),
                  "allergies": _lines(allergies, "None recorded")}
        return LetterDraft(kind, fields)

    @operation(Permission.WRITE_CLINICAL, "letter.write", patient_arg="patient_id",
               resource_type="DocumentReference")
    def letter_document(self, uow: UnitOfWork, *, patient_id: str, kind: str,
                        fields: dict[str, str]) -> LetterDocument:
        """Validate the fields and gather everything the PDF shows (audited)."""
        self._check_kind(kind)
        errors = {f: "This is needed for the letter." for f in REQUIRED[kind]
                  if not (fields.get(f) or "").strip()}
        if errors:
            raise ValidationError(errors)
        s = uow.session
        p = patient_row(s, patient_id)
        clinic = s.scalars(select(Clinic)).one()
        today = self.core.now().astimezone(clinic_zone(s)).date()
        mrn = s.scalars(select(PatientIdentifier.value).where(
            PatientIdentifier.patient_id == patient_id).order_by(PatientIdentifier.rank)).first()
        assert uow.actor is not None
        prac = s.get(Practitioner, uow.actor.practitioner_id) if uow.actor.practitioner_id else None
        allowed = {f for f, _ in template_fields(kind)}
        values = {k: str(v).strip() for k, v in fields.items() if k in allowed}
        values.update(
            patient_name=" ".join(x for x in (p.given, p.family) if x),
            birth_date=long_day_text(p.birth_date),
            patient_identifier=f" (MRN {mrn})" if mrn else "",
            today=long_day_text(today),
        )
        signatory_lines = tuple(x for x in (
            prac.qualification if prac else None,
            f"Registration no. {prac.provider_number}" if prac and prac.provider_number else None,
        ) if x)
        recipient = ((values.get("recipient_name", ""),) + tuple(
            values.get("recipient_address", "").splitlines())) if kind == "referral" else ()
        uow.audit("letter.write", resource_type="DocumentReference", patient_id=patient_id,
                  detail={"kind": kind})
        return LetterDocument(
            kind=kind, head=letterhead(clinic),
            date_text=long_day_text(today), values=values,
            signatory=uow.actor.display_name, signatory_lines=signatory_lines,
            recipient_lines=recipient,
        )

    def letter_pdf(self, actor: StaffSession, *, patient_id: str, kind: str,
                   fields: dict[str, str]) -> bytes:
        """The letter as PDF bytes (permission checked and audited by letter_document)."""
        doc = self.letter_document(actor, patient_id=patient_id, kind=kind, fields=fields)
        return letter_pdf(doc)
