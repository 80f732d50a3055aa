"""PatientsService: registration rules, duplicates, search keys, recents, merge and revert."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import ConflictError, PermissionDenied, ValidationError
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.store.models import (
    Allergy,
    AuditEntry,
    Encounter,
    Patient,
    PatientIdentifier,
    PatientMerge,
    PatientTelecom,
)

MARY = PatientDraft(
    given="Mary",
    family="Murphy",
    birth_date="17/05/1980",
    sex="female",
    phone="087 123 4567",
    email="mary@example.ie",
    mrn="MRN-1001",
    emergency_name="John Murphy",
    emergency_relationship="husband",
    emergency_phone="087 765 4321",
    coverage_payer="VHI",
    coverage_member_id="V123",
)


@pytest.fixture
def rita(actors):  # type: ignore[no-untyped-def]
    return actors[Role.RECEPTION]


def test_register_keeps_every_detail_and_logs_it(ctx, rita):  # type: ignore[no-untyped-def]
    p = ctx.patients.register_patient(rita, draft=MARY)
    back = ctx.patients.get_patient(rita, patient_id=p.id)
    assert back.birth_date == date(1980, 5, 17)
    d = back.draft
    assert (d.phone, d.email, d.mrn) == ("087 123 4567", "mary@example.ie", "MRN-1001")
    assert (d.emergency_name, d.coverage_payer, d.coverage_member_id) == (
        "John Murphy",
        "VHI",
        "V123",
    )
    with ctx.db.sessions()() as s:
        actions = [
            e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.patient_id == p.id))
        ]
    assert actions == ["patients.register", "patients.open"]


def test_validation_names_the_form_fields(ctx, rita):  # type: ignore[no-untyped-def]
    bad = PatientDraft(
        given=" ",
        family="Murphy",
        birth_date="31/02/1980",
        phone="call me",
        email="mary@",
        emergency_name="John",
    )
    with pytest.raises(ValidationError) as e:
        ctx.patients.register_patient(rita, draft=bad)
    assert set(e.value.field_errors) == {"given", "birth_date", "phone", "email", "emergency_phone"}
    future = PatientDraft(given="A", family="B", birth_date="01/01/2999")
    with pytest.raises(ValidationError) as e:
        ctx.patients.register_patient(rita, draft=future)
    assert "future" in e.value.field_errors["birth_date"]


def test_identifiers_are_unique(ctx, rita):  # type: ignore[no-untyped-def]
    ctx.patients.register_patient(rita, draft=MARY)
    other = PatientDraft(given="Ann", family="Other", birth_date="1990-01-01", mrn="MRN-1001")
    with pytest.raises(ValidationError) as e:
        ctx.patients.register_patient(rita, draft=other)
    assert set(e.value.field_errors) == {"mrn"}


def test_duplicates_by_similar_name_phone_and_identifier(ctx, rita, make_patient):  # type: ignore[no-untyped-def]
    mary = make_patient("Mary", "Murphy", date(1980, 5, 17), phone="087 123 4567", mrn="M1")
    make_patient("Mary", "Murphy", date(1981, 5, 17), phone=None)  # other birthday: not a duplicate
    near = PatientDraft(given="Marie", family="Murphey", birth_date="17.5.1980")
    found = ctx.patients.find_duplicates(rita, draft=near)
    assert [c.patient.id for c in found] == [mary]
    assert "similar name" in found[0].reasons[0]
    by_phone = ctx.patients.find_duplicates(
        rita, draft=PatientDraft(given="X", family="Y", phone="0871234567")
    )
    assert [c.patient.id for c in by_phone] == [mary]
    by_mrn = ctx.patients.find_duplicates(rita, draft=PatientDraft(mrn="M1"))
    assert by_mrn[0].reasons == ("Same MRN",)
    assert ctx.patients.find_duplicates(rita, draft=near, exclude_id=mary) == []


@pytest.mark.parametrize(
    "query",
    [
        "murphy",
        "mary murphy",
        "murphy mary",
        "mur ma",
        "17/05/1980",
        "1980-05-17",
        "17.5.1980",
        "17051980",
        "087 123 4567",
        "0871234",
        "MRN-77",
        "murphy 17/05/1980",
    ],
)
def test_search_finds_by_each_key(ctx, rita, make_patient, query):  # type: ignore[no-untyped-def]
    target = make_patient("Mary", "Murphy", date(1980, 5, 17), phone="087 123 4567", mrn="MRN-77")
    make_patient("Maura", "Walsh", date(1975, 1, 2), phone="01 555 0000", mrn="MRN-78")
    make_patient("Mary", "Murphy", date(1990, 1, 1), phone="086 999 9999", active=False)
    assert [r.id for r in ctx.patients.search(rita, query)] == [target]


def test_search_is_audited_without_the_query(ctx, rita, make_patient):  # type: ignore[no-untyped-def]
    make_patient("Mary", "Murphy")
    ctx.patients.search(rita, "murphy")
    with ctx.db.sessions()() as s:
        e = s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert e.action == "patients.search" and "murphy" not in (e.detail or "").lower()


def test_recent_patients_come_from_this_users_access_log(ctx, actors, make_patient):  # type: ignore[no-untyped-def]
    a, b = make_patient("Ann", "A"), make_patient("Bob", "B")
    rita, doc = actors[Role.RECEPTION], actors[Role.CLINICIAN]
    ctx.patients.get_patient(rita, patient_id=a)
    ctx.patients.get_patient(rita, patient_id=b)
    ctx.patients.get_patient(rita, patient_id=a)
    assert [p.id for p in ctx.patients.recent_patients(rita)] == [a, b]
    assert ctx.patients.recent_patients(doc) == []


def test_banner_shows_alerts_and_allergies(ctx, rita, make_patient):  # type: ignore[no-untyped-def]
    pid = make_patient("Mary", "Murphy", mrn="MRN-5")
    ctx.patients.add_alert(rita, patient_id=pid, text="Uses a wheelchair")
    with ctx.db.sessions()() as s, s.begin():
        s.add(
            Allergy(
                patient_id=pid,
                substance="Penicillin",
                reaction="rash",
                recorded_at=datetime.now(UTC),
            )
        )
    b = ctx.patients.banner(rita, patient_id=pid)
    assert b.alerts == ("Uses a wheelchair",)
    assert b.allergies == ("Penicillin (rash)",)
    assert ("MRN", "MRN-5") in b.identifiers


def test_merge_repoints_everything_and_admin_can_revert(ctx, actors, make_patient):  # type: ignore[no-untyped-def]
    rita, admin = actors[Role.RECEPTION], actors[Role.CLINIC_ADMIN]
    keep = make_patient("Mary", "Murphy", mrn="K1")
    dup = make_patient("Mary", "Murphey", phone="01 222 3333", mrn="D1")
    prac = ctx.scheduling.practitioners(rita)[0]
    appt = ctx.scheduling.book(
        rita, patient_id=dup, practitioner_id=prac.id, start_at=datetime(2030, 1, 7, 10, tzinfo=UTC)
    )
    with ctx.db.sessions()() as s, s.begin():
        s.add(Encounter(patient_id=dup, practitioner_id=prac.id, start_at=datetime.now(UTC)))
    info = ctx.patients.merge_patients(rita, survivor_id=keep, merged_id=dup, reason="same person")
    assert set(info.moved) >= {"appointment", "encounter", "patient_identifier", "patient_telecom"}
    with ctx.db.sessions()() as s:
        merged = s.get(Patient, dup)
        assert (merged.active, merged.merged_into_id) == (False, keep)
        assert s.scalar(select(Encounter.patient_id)) == keep
        assert set(
            s.scalars(select(PatientIdentifier.value).where(PatientIdentifier.patient_id == keep))
        ) == {"K1", "D1"}
    assert ctx.scheduling.appointment(rita, appointment_id=appt.id).patient_id == keep
    assert [p.id for p in ctx.patients.search(rita, "D1")] == [keep]
    with pytest.raises(PermissionDenied):
        ctx.patients.revert_merge(rita, merge_id=info.id)
    ctx.patients.revert_merge(admin, merge_id=info.id)
    with ctx.db.sessions()() as s:
        assert s.get(Patient, dup).active and s.get(Patient, dup).merged_into_id is None
        assert s.scalar(select(Encounter.patient_id)) == dup
        assert json.loads(s.scalars(select(PatientMerge)).one().moved)["appointment"] == [appt.id]
        assert s.scalars(select(PatientMerge)).one().reverted_at is not None
    assert ctx.scheduling.appointment(rita, appointment_id=appt.id).patient_id == dup
    with pytest.raises(ConflictError):
        ctx.patients.revert_merge(admin, merge_id=info.id)


def test_deactivate_hides_from_search_but_keeps_the_record(ctx, rita, make_patient):  # type: ignore[no-untyped-def]
    pid = make_patient("Mary", "Murphy")
    with pytest.raises(ValidationError):
        ctx.patients.deactivate_patient(rita, patient_id=pid, reason=" ")
    ctx.patients.deactivate_patient(rita, patient_id=pid, reason="Moved away")
    assert ctx.patients.search(rita, "murphy") == []
    assert ctx.patients.get_patient(rita, patient_id=pid).active is False


def test_update_keeps_identifier_and_validates(ctx, rita):  # type: ignore[no-untyped-def]
    p = ctx.patients.register_patient(rita, draft=MARY)
    from dataclasses import replace

    changed = ctx.patients.update_patient(
        rita, patient_id=p.id, draft=replace(p.draft, city="Galway", phone="")
    )
    assert (
        changed.draft.city == "Galway"
        and changed.draft.phone == ""
        and changed.draft.mrn == "MRN-1001"
    )
    assert ctx.patients.search(rita, "0871234567") == []


def test_search_results_carry_what_the_list_shows_sorted_by_name(ctx, rita, make_patient):  # type: ignore[no-untyped-def]
    """Each result: the names, the date of birth and age, the first phone by rank, every
    identifier; the results sorted by surname, first name, then date of birth."""
    mary = make_patient("Mary", "Murphy", date(1980, 5, 17), phone="087 123 4567", mrn="MRN-77")
    older = make_patient("Mary", "Murphy", date(1950, 2, 1), phone=None)
    aoife = make_patient("aoife", "murphy", date(2001, 3, 4), phone="01 222 3333")
    with ctx.db.sessions()() as s, s.begin():
        s.add(PatientTelecom(patient_id=mary, system="phone", use="home", value="01 999 0000",
                             digits="019990000", rank=-1))
        s.add(PatientTelecom(patient_id=mary, system="email", use="home", value="m@example.ie",
                             digits=None, rank=-2))
        s.add(PatientIdentifier(patient_id=mary, system="urn:ie:ppsn", label="PPSN",
                                value="1234567T", rank=1))
    found = ctx.patients.search(rita, "murphy")
    assert [r.id for r in found] == [aoife, older, mary]
    m = found[2]
    assert (m.given, m.family, m.birth_date, m.sex, m.active) == (
        "Mary", "Murphy", date(1980, 5, 17), "female", True)
    assert m.age == (date.today().year - 1980 - ((date.today().month, date.today().day) < (5, 17)))
    assert m.phone == "01 999 0000"  # ranked before the one written first; email not a phone
    assert sorted(m.identifiers.split(", ")) == ["MRN MRN-77", "PPSN 1234567T"]
    assert (found[1].phone, found[1].identifiers) == ("", "")
    by_date = ctx.patients.search(rita, "murphy 01/02/1950")
    assert [r.id for r in by_date] == [older]
