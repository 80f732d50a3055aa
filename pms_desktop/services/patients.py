"""The patient registry (``ctx.patients``): register, edit, find, open, merge, deactivate.

Every read of a patient is in the access log ("patients.open" entries also feed each user's
recently opened list). Patients are never deleted: they are deactivated, or merged into the
record that survives (reversible by a clinic admin).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ..domain.errors import ConflictError, NotFound, ValidationError
from ..domain.permissions import Permission
from ..domain.validation import age_on
from ..store.models import Allergy, Clinic, Patient, PatientAlert, PatientMerge
from . import patients_form as form
from . import patients_merge as merging
from . import patients_search as finder
from .base import ServiceCore, UnitOfWork, operation
from .patients_dto import (
    AlertInfo,
    BannerData,
    DuplicateCandidate,
    MergeInfo,
    PatientDetail,
    PatientDraft,
    PatientSummary,
)

R, W = Permission.READ_DEMOGRAPHICS, Permission.WRITE_DEMOGRAPHICS


class PatientsService:
    def __init__(self, core: ServiceCore) -> None:
        self.core = core

    def _today(self) -> date:
        return self.core.now().date()

    def _patient(self, uow: UnitOfWork, patient_id: str) -> Patient:
        p = uow.session.get(Patient, patient_id)
        if p is None:
            raise NotFound("That patient was not found.")
        return p

    # --- registration and edits -------------------------------------------------------------

    @operation(W, "patients.register", resource_type="Patient")
    def register_patient(self, uow: UnitOfWork, *, draft: PatientDraft) -> PatientDetail:
        c = form.clean(draft, self._today())
        form.check_identifiers_unique(uow.session, c.draft, None)
        clinic_id = uow.session.scalars(select(Clinic.id)).one()
        p = Patient(
            clinic_id=clinic_id,
            given=c.draft.given,
            family=c.draft.family,
            birth_date=c.birth_date,
            active=True,
        )
        uow.session.add(p)
        form.apply(uow, p, c)
        uow.changed(p)
        dupes = finder.duplicate_candidates(uow.session, c.draft, p.id, self._today())
        uow.audit(
            "patients.register",
            resource_type="Patient",
            resource_id=p.id,
            patient_id=p.id,
            detail={"duplicate_candidates": len(dupes)} if dupes else None,
        )
        self.core.notify("patients.changed", patient_id=p.id)
        return self._detail(uow, p)

    @operation(W, "patients.update", patient_arg="patient_id", resource_type="Patient")
    def update_patient(
        self, uow: UnitOfWork, *, patient_id: str, draft: PatientDraft
    ) -> PatientDetail:
        p = self._patient(uow, patient_id)
        if p.merged_into_id:
            raise ConflictError("This record was merged into another one; edit that one instead.")
        c = form.clean(draft, self._today())
        form.check_identifiers_unique(uow.session, c.draft, patient_id)
        form.apply(uow, p, c)
        uow.changed(p)
        self.core.notify("patients.changed", patient_id=p.id)
        return self._detail(uow, p)

    @operation(R, "patients.duplicates", resource_type="Patient")
    def find_duplicates(
        self, uow: UnitOfWork, *, draft: PatientDraft, exclude_id: str | None = None
    ) -> list[DuplicateCandidate]:
        found = finder.duplicate_candidates(uow.session, draft, exclude_id, self._today())
        uow.audit("patients.duplicates", resource_type="Patient", detail={"found": len(found)})
        return found

    @operation(W, "patients.deactivate", patient_arg="patient_id", resource_type="Patient")
    def deactivate_patient(self, uow: UnitOfWork, *, patient_id: str, reason: str) -> None:
        if not reason.strip():
            raise ValidationError({"reason": "Say why this record is deactivated."})
        p = self._patient(uow, patient_id)
        p.active = False
        uow.changed(p)
        uow.audit(
            "patients.deactivate",
            resource_type="Patient",
            resource_id=p.id,
            patient_id=p.id,
            reason=reason.strip(),
        )
        self.core.notify("patients.changed", patient_id=p.id)

    @operation(W, "patients.reactivate", patient_arg="patient_id", resource_type="Patient")
    def reactivate_patient(self, uow: UnitOfWork, *, patient_id: str) -> None:
        p = self._patient(uow, patient_id)
        if p.merged_into_id:
            raise ConflictError("A merged record comes back only by undoing the merge.")
        p.active = True
        uow.changed(p)
        self.core.notify("patients.changed", patient_id=p.id)

    @operation(W, "patients.alert_add", patient_arg="patient_id", resource_type="Flag")
    def add_alert(
        self, uow: UnitOfWork, *, patient_id: str, text: str, category: str = "admin"
    ) -> AlertInfo:
        if not text.strip():
            raise ValidationError({"text": "Enter the alert."})
        self._patient(uow, patient_id)
        a = PatientAlert(
            patient_id=patient_id, category=category, text=text.strip()[:500], active=True
        )
        uow.session.add(a)
        uow.changed(a)
        self.core.notify("patients.changed", patient_id=patient_id)
        return AlertInfo(a.id, a.category, a.text)

    @operation(W, "patients.alert_resolve", patient_arg="patient_id", resource_type="Flag")
    def resolve_alert(self, uow: UnitOfWork, *, patient_id: str, alert_id: str) -> None:
        a = uow.session.get(PatientAlert, alert_id)
        if a is None or a.patient_id != patient_id:
            raise NotFound("That alert was not found.")
        a.active = False
        uow.changed(a)
        self.core.notify("patients.changed", patient_id=patient_id)

    # --- reading ---------------------------------------------------------------------------

    @operation(R, "patients.open", patient_arg="patient_id", resource_type="Patient")
    def get_patient(self, uow: UnitOfWork, *, patient_id: str) -> PatientDetail:
        return self._detail(uow, self._patient(uow, patient_id))

    @operation(R, "patients.banner", patient_arg="patient_id", resource_type="Patient")
    def banner(self, uow: UnitOfWork, *, patient_id: str) -> BannerData:
        p = self._patient(uow, patient_id)
        s = uow.session
        alerts = tuple(
            s.scalars(
                select(PatientAlert.text).where(
                    PatientAlert.patient_id == p.id, PatientAlert.active.is_(True)
                )
            )
        )
        allergies = tuple(
            f"{a.substance}" + (f" ({a.reaction})" if a.reaction else "")
            for a in s.scalars(
                select(Allergy).where(
                    Allergy.patient_id == p.id, Allergy.clinical_status == "active"
                )
            )
        )
        name = " ".join(x for x in (p.prefix, p.given, p.middle, p.family) if x)
        return BannerData(
            p.id,
            name,
            age_on(p.birth_date, self._today()),
            p.birth_date,
            p.sex,
            tuple((i.label, i.value) for i in p.identifiers),
            alerts,
            allergies,
            p.active,
            p.merged_into_id,
        )

    @operation(R, "patients.search", resource_type="Patient")
    def search(self, uow: UnitOfWork, text: str = "", *, limit: int = 50) -> list[PatientSummary]:
        ids = finder.search_ids(uow.session, text, limit, self._today())
        uow.audit("patients.search", resource_type="Patient", detail={"results": len(ids)})
        return finder.summaries(uow.session, ids, self._today())

    @operation(R, "patients.recent", resource_type="Patient")
    def recent_patients(self, uow: UnitOfWork, *, limit: int = 10) -> list[PatientSummary]:
        assert uow.actor is not None
        ids = finder.recent_ids(uow.session, uow.actor.user_id, limit)
        order = {pid: i for i, pid in enumerate(ids)}
        found = [s for s in finder.summaries(uow.session, ids, self._today()) if s.active]
        return sorted(found, key=lambda s: order[s.id])

    # --- merging ---------------------------------------------------------------------------

    @operation(W, "patients.merge", patient_arg="survivor_id", resource_type="Patient")
    def merge_patients(
        self, uow: UnitOfWork, *, survivor_id: str, merged_id: str, reason: str = ""
    ) -> MergeInfo:
        result = merging.merge(uow, survivor_id, merged_id)
        uow.audit(
            "patients.merge",
            resource_type="Patient",
            resource_id=merged_id,
            patient_id=survivor_id,
            reason=reason.strip() or None,
            detail={
                "merged_id": merged_id,
                "merge_id": result.id,
                "moved": {k: len(v) for k, v in result.moved.items()},
            },
        )
        self.core.notify("patients.changed", patient_id=survivor_id)
        self.core.notify("patients.changed", patient_id=merged_id)
        return result

    @operation(Permission.MANAGE_USERS, "patients.merge_revert", resource_type="Patient")
    def revert_merge(self, uow: UnitOfWork, *, merge_id: str) -> MergeInfo:
        result = merging.revert(uow, merge_id)
        uow.audit(
            "patients.merge_revert",
            resource_type="Patient",
            resource_id=result.merged_id,
            patient_id=result.survivor_id,
            detail={"merge_id": merge_id},
        )
        self.core.notify("patients.changed", patient_id=result.survivor_id)
        return result

    @operation(R, "patients.merges", patient_arg="patient_id", resource_type="Patient")
    def merges(self, uow: UnitOfWork, *, patient_id: str) -> list[MergeInfo]:
        rows = uow.session.scalars(
            select(PatientMerge)
            .where(
                (PatientMerge.survivor_id == patient_id) | (PatientMerge.merged_id == patient_id)
            )
            .order_by(PatientMerge.merged_at.desc())
        )
        return [merging.info(r) for r in rows]

    def _detail(self, uow: UnitOfWork, p: Patient) -> PatientDetail:
        s = uow.session
        s.flush()
        alerts = tuple(
            AlertInfo(a.id, a.category, a.text)
            for a in s.scalars(
                select(PatientAlert).where(
                    PatientAlert.patient_id == p.id, PatientAlert.active.is_(True)
                )
            )
        )
        return PatientDetail(
            p.id,
            form.draft_of(s, p),
            p.birth_date,
            age_on(p.birth_date, self._today()),
            p.active,
            p.merged_into_id,
            p.local_revision,
            alerts,
            p.updated_at,
        )
