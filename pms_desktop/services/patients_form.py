"""Checking a ``PatientDraft`` and writing it onto the patient's rows (inside a transaction).

Errors are keyed by the draft's field names, which are the form's field names.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import held_identifiers as held
from ..domain.enums import Sex
from ..domain.errors import ValidationError
from ..domain.validation import normalise_email, normalise_phone, parse_birth_date
from ..store.models import Coverage, Patient, PatientIdentifier, PatientTelecom, RelatedPerson
from .base import UnitOfWork
from .patients_dto import IDENTIFIER_KINDS, PatientDraft

LIMITS = {
    "given": 100,
    "family": 100,
    "middle": 100,
    "preferred_name": 100,
    "prefix": 20,
    "address_line": 200,
    "address_line2": 200,
    "city": 100,
    "region": 100,
    "postal_code": 20,
    "mrn": 64,
    "national_id": 64,
    "emergency_name": 200,
    "coverage_payer": 200,
    "coverage_member_id": 64,
}


@dataclass(frozen=True)
class CleanDraft:
    draft: PatientDraft  # stripped text
    birth_date: date
    phone_digits: str | None
    home_digits: str | None


def clean(draft: PatientDraft, today: date) -> CleanDraft:
    """Strip, check and normalise; raise ValidationError naming every bad field at once."""
    d = replace(
        draft,
        **{
            f.name: getattr(draft, f.name).strip()
            for f in fields(draft)
            if isinstance(getattr(draft, f.name), str)
        },
    )
    errors: dict[str, str] = {}
    if not d.given:
        errors["given"] = "Enter the first name."
    if not d.family:
        errors["family"] = "Enter the surname."
    for name, limit in LIMITS.items():
        if len(getattr(d, name)) > limit:
            errors[name] = f"At most {limit} characters."
    birth = date.min
    try:
        birth = parse_birth_date(d.birth_date, today)
    except ValueError as e:
        errors["birth_date"] = str(e)
    if d.sex not in {s.value for s in Sex}:
        errors["sex"] = "Choose female, male, other or unknown."
    digits: dict[str, str | None] = {"phone": None, "phone_home": None, "emergency_phone": None}
    for name in digits:
        value = getattr(d, name)
        if value:
            try:
                tidy, digits[name] = normalise_phone(value)
                d = replace(d, **{name: tidy})
            except ValueError as e:
                errors[name] = str(e)
    if d.email:
        try:
            d = replace(d, email=normalise_email(d.email))
        except ValueError as e:
            errors["email"] = str(e)
    if d.country and len(d.country) != 2:
        errors["country"] = "Use the two-letter country code (for example IE)."
    if bool(d.emergency_name) != bool(d.emergency_phone):
        key = "emergency_phone" if d.emergency_name else "emergency_name"
        errors[key] = "An emergency contact needs both a name and a phone number."
    if d.coverage_payer and not d.coverage_member_id:
        errors["coverage_member_id"] = "Enter the member number of the cover."
    if errors:
        raise ValidationError(errors, "Some details need correcting: " + ", ".join(errors))
    return CleanDraft(d, birth, digits["phone"], digits["phone_home"])


def check_identifiers_unique(session: Session, draft: PatientDraft, patient_id: str | None) -> None:
    errors: dict[str, str] = {}
    for name, (system, label) in IDENTIFIER_KINDS.items():
        value = getattr(draft, name)
        if not value:
            continue
        owner = session.scalar(
            select(PatientIdentifier.patient_id).where(
                PatientIdentifier.system == system, PatientIdentifier.value == value
            )
        )
        if owner is not None and owner != patient_id:
            errors[name] = f"This {label} already belongs to another patient."
        elif owner is None and held.is_temporary(value):
            # The mark of a value held temporarily here (a possible duplicate): never typed.
            errors[name] = f"A {label} cannot end in “{value[-9:]}”."
    if errors:
        raise ValidationError(errors)


def apply(uow: UnitOfWork, patient: Patient, c: CleanDraft) -> None:
    """Write the cleaned draft onto the patient and its child rows."""
    d = c.draft
    for name in (
        "prefix",
        "given",
        "middle",
        "family",
        "preferred_name",
        "sex",
        "email",
        "address_line",
        "address_line2",
        "city",
        "region",
        "postal_code",
        "reception_notes",
    ):
        setattr(
            patient,
            name,
            getattr(d, name) or (None if name not in ("given", "family", "sex") else ""),
        )
    patient.country = d.country.upper() or None
    patient.birth_date = c.birth_date
    patient.phone_digits = c.phone_digits
    s = uow.session
    if patient not in s.new:
        s.flush()
    _set_identifiers(patient, d)
    _set_telecoms(patient, d, c)
    s.flush()
    _set_emergency(uow, patient.id, d)
    _set_coverage(uow, patient.id, d)


def _set_identifiers(patient: Patient, d: PatientDraft) -> None:
    by_system = {i.system: i for i in patient.identifiers}
    for rank, (name, (system, label)) in enumerate(IDENTIFIER_KINDS.items()):
        value = getattr(d, name)
        row = by_system.get(system)
        if value and row is None:
            patient.identifiers.append(
                PatientIdentifier(system=system, label=label, value=value, rank=rank)
            )
        elif value and row is not None:
            row.value = value
        elif row is not None:
            patient.identifiers.remove(row)


def _set_telecoms(patient: Patient, d: PatientDraft, c: CleanDraft) -> None:
    wanted = [
        ("phone", "mobile", d.phone, c.phone_digits),
        ("phone", "home", d.phone_home, c.home_digits),
        ("email", "home", d.email, None),
    ]
    current = {(t.system, t.use): t for t in patient.telecoms}
    for rank, (system, use, value, digits) in enumerate(wanted):
        row = current.get((system, use))
        if value and row is None:
            patient.telecoms.append(
                PatientTelecom(system=system, use=use, value=value, digits=digits, rank=rank)
            )
        elif value and row is not None:
            row.value, row.digits = value, digits
        elif row is not None:
            patient.telecoms.remove(row)


def _set_emergency(uow: UnitOfWork, patient_id: str, d: PatientDraft) -> None:
    row = uow.session.scalars(
        select(RelatedPerson).where(
            RelatedPerson.patient_id == patient_id,
            RelatedPerson.is_emergency_contact.is_(True),
            RelatedPerson.active.is_(True),
        )
    ).first()
    if d.emergency_name:
        if row is None:
            row = RelatedPerson(patient_id=patient_id, is_emergency_contact=True, active=True)
            uow.session.add(row)
        if (row.name, row.relationship_, row.phone) != (
            d.emergency_name,
            d.emergency_relationship,
            d.emergency_phone,
        ):
            row.name, row.phone = d.emergency_name, d.emergency_phone
            row.relationship_ = d.emergency_relationship or "emergency"
            uow.changed(row)
    elif row is not None:
        row.active = False
        uow.changed(row)


def _set_coverage(uow: UnitOfWork, patient_id: str, d: PatientDraft) -> None:
    row = uow.session.scalars(
        select(Coverage).where(Coverage.patient_id == patient_id, Coverage.active.is_(True))
    ).first()
    if d.coverage_payer:
        if row is None:
            row = Coverage(patient_id=patient_id, active=True)
            uow.session.add(row)
        if (row.payer_name, row.member_id, row.plan) != (
            d.coverage_payer,
            d.coverage_member_id,
            d.coverage_plan or None,
        ):
            row.payer_name, row.member_id = d.coverage_payer, d.coverage_member_id
            row.plan = d.coverage_plan or None
            uow.changed(row)
    elif row is not None:
        row.active = False
        uow.changed(row)


def draft_of(session: Session, p: Patient) -> PatientDraft:
    """The form's view of a stored patient."""
    idents = {i.system: i.value for i in p.identifiers}
    tele = {(t.system, t.use): t.value for t in p.telecoms}
    em = session.scalars(
        select(RelatedPerson).where(
            RelatedPerson.patient_id == p.id,
            RelatedPerson.is_emergency_contact.is_(True),
            RelatedPerson.active.is_(True),
        )
    ).first()
    cov = session.scalars(
        select(Coverage).where(Coverage.patient_id == p.id, Coverage.active.is_(True))
    ).first()
    return PatientDraft(
        given=p.given,
        family=p.family,
        birth_date=p.birth_date,
        sex=p.sex or "unknown",
        prefix=p.prefix or "",
        middle=p.middle or "",
        preferred_name=p.preferred_name or "",
        phone=tele.get(("phone", "mobile"), ""),
        phone_home=tele.get(("phone", "home"), ""),
        email=p.email or tele.get(("email", "home"), ""),
        address_line=p.address_line or "",
        address_line2=p.address_line2 or "",
        city=p.city or "",
        region=p.region or "",
        postal_code=p.postal_code or "",
        country=p.country or "",
        mrn=idents.get(IDENTIFIER_KINDS["mrn"][0], ""),
        national_id=idents.get(IDENTIFIER_KINDS["national_id"][0], ""),
        emergency_name=em.name if em else "",
        emergency_relationship=em.relationship_ if em else "",
        emergency_phone=(em.phone or "") if em else "",
        coverage_payer=cov.payer_name if cov else "",
        coverage_member_id=cov.member_id if cov else "",
        coverage_plan=(cov.plan or "") if cov else "",
        reception_notes=p.reception_notes or "",
    )
