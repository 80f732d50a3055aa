"""Property-based round trips: generated rows -> FHIR JSON text -> an empty store, unchanged.

Rows live in a plain in-memory store (the mapping is what is under test, not the encryption);
every generated resource is also validated with the R4B models by ``resource_for``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pms_desktop.store.models import (
    Appointment,
    ClinicalNote,
    Invoice,
    InvoiceLine,
    Observation,
    ObservationComponent,
    Patient,
    PatientIdentifier,
    PatientTelecom,
)
from tests.unit.test_fhir_support import empty_store, round_trip

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# FHIR strings: any character but control and non-space separators.
TEXT = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Zs")) | st.just(" "),
    min_size=1,
    max_size=24,
)
OPT_TEXT = st.none() | TEXT
UUIDS = st.uuids().map(str)
WHEN = st.datetimes(
    min_value=datetime(1950, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)
DAYS = st.dates(min_value=date(1900, 1, 1), max_value=date(2090, 1, 1))
NOTE_TEXT = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")) | st.just("\n"), max_size=80
)


def _check(row: Any, table: str) -> None:
    with empty_store() as source:
        source.add(row)
        source.flush()
        before, after = round_trip(source, table, row.id)
    assert after == before


@st.composite
def patients(draw: Any) -> Patient:
    n_ids = draw(st.integers(0, 3))
    telecoms = []
    for rank in range(draw(st.integers(0, 3))):
        system = draw(st.sampled_from(["phone", "email", "sms"]))
        value = draw(TEXT)
        digits = (
            None
            if system == "email"
            else draw(st.none() | st.from_regex(r"\d{1,12}", fullmatch=True))
        )
        telecoms.append(
            PatientTelecom(
                id=str(uuid.uuid4()),
                system=system,
                use=draw(st.sampled_from(["home", "work", "mobile"])),
                value=value,
                digits=digits,
                rank=rank + draw(st.integers(0, 2)),
            )
        )
    line1 = draw(OPT_TEXT)
    return Patient(
        id=draw(UUIDS),
        clinic_id=draw(UUIDS),
        prefix=draw(OPT_TEXT),
        given=draw(TEXT),
        middle=draw(OPT_TEXT),
        family=draw(TEXT),
        preferred_name=draw(OPT_TEXT),
        sex=draw(st.sampled_from(["female", "male", "other", "unknown"])),
        birth_date=draw(DAYS),
        deceased_date=draw(st.none() | DAYS),
        email=draw(OPT_TEXT),
        address_line=line1,
        address_line2=draw(OPT_TEXT),
        city=draw(OPT_TEXT),
        region=draw(OPT_TEXT),
        postal_code=draw(OPT_TEXT),
        country=draw(st.none() | st.sampled_from(["IE", "GB"])),
        language=draw(st.none() | st.sampled_from(["en", "ga", "fr-CA"])),
        reception_notes=draw(OPT_TEXT),
        active=draw(st.booleans()),
        merged_into_id=draw(st.none() | UUIDS),
        phone_digits=draw(st.none() | st.just("0871")),
        server_version=draw(st.none() | st.integers(1, 10**6)),
        updated_by=draw(st.none() | UUIDS),
        updated_at=draw(WHEN),
        identifiers=[
            PatientIdentifier(
                id=str(uuid.uuid4()),
                system=f"urn:sys:{i}",
                label=draw(TEXT),
                value=draw(TEXT),
                rank=draw(st.integers(0, 9)),
            )
            for i in range(n_ids)
        ],
        telecoms=telecoms,
    )


@given(patients())
@SETTINGS
def test_patient_round_trip(row: Patient) -> None:
    _check(row, "patient")


@given(start=WHEN, minutes=st.integers(5, 240), data=st.data())
@SETTINGS
def test_appointment_round_trip(start: datetime, minutes: int, data: Any) -> None:
    d = data.draw
    row = Appointment(
        id=d(UUIDS),
        clinic_id=d(UUIDS),
        patient_id=d(UUIDS),
        practitioner_id=d(UUIDS),
        appointment_type_id=d(st.none() | UUIDS),
        start_at=start,
        end_at=start + timedelta(minutes=minutes),
        status=d(
            st.sampled_from(
                ["booked", "arrived", "in-consultation", "completed", "cancelled", "noshow"]
            )
        ),
        note=d(OPT_TEXT),
        cancel_reason=d(OPT_TEXT),
        arrived_at=d(st.none() | WHEN),
        started_at=d(st.none() | WHEN),
        completed_at=d(st.none() | WHEN),
        recurrence_id=d(st.none() | UUIDS),
        overbook_reason=d(OPT_TEXT),
        booked_by=d(st.none() | UUIDS),
        updated_at=d(WHEN),
    )
    _check(row, "appointment")


DECIMALS = st.integers(0, 4).flatmap(
    lambda places: st.decimals(
        min_value=-10000, max_value=10000, places=places, allow_nan=False, allow_infinity=False
    )
)
INTERP = st.none() | st.sampled_from(["N", "H", "L", "HH", "LL", "A"])
UNITS = st.none() | st.sampled_from(["mm[Hg]", "kg", "/min", "Cel", "%"])


@given(data=st.data())
@SETTINGS
def test_observation_with_components_round_trip(data: Any) -> None:
    d = data.draw
    comps = [
        ObservationComponent(
            id=str(uuid.uuid4()),
            code=d(st.sampled_from(["8480-6", "8462-4"])),
            display=d(TEXT),
            value=d(st.none() | DECIMALS),
            unit=d(UNITS),
            interpretation=d(INTERP),
            rank=r,
        )
        for r in range(d(st.integers(0, 3)))
    ]
    value = d(st.none() | DECIMALS)
    row = Observation(
        id=d(UUIDS),
        patient_id=d(UUIDS),
        encounter_id=d(st.none() | UUIDS),
        diagnostic_report_id=d(st.none() | UUIDS),
        category=d(st.sampled_from(["vital-signs", "laboratory"])),
        code_system=d(st.sampled_from(["http://loinc.org", "http://snomed.info/sct"])),
        code=d(st.from_regex(r"[0-9]{1,6}-[0-9]", fullmatch=True)),
        display=d(TEXT),
        status=d(st.sampled_from(["final", "preliminary", "amended"])),
        effective_at=d(WHEN),
        value=value,
        unit=d(UNITS),
        value_text=d(OPT_TEXT),
        interpretation=d(INTERP),
        ref_low=d(st.none() | DECIMALS),
        ref_high=d(st.none() | DECIMALS),
        recorded_by=d(st.none() | UUIDS),
        reviewed_at=d(st.none() | WHEN),
        reviewed_by_id=d(st.none() | UUIDS),
        updated_at=d(WHEN),
        components=comps,
    )
    _check(row, "observation")


@given(data=st.data())
@SETTINGS
def test_invoice_with_lines_round_trip(data: Any) -> None:
    d = data.draw
    money = st.integers(0, 10**9)
    lines = [
        InvoiceLine(
            id=str(uuid.uuid4()),
            position=p,
            fee_item_id=d(st.none() | UUIDS),
            code=d(st.none() | st.from_regex(r"[A-Z]{2}[0-9]", fullmatch=True)),
            description=d(TEXT),
            quantity=d(st.decimals(min_value=0, max_value=1000, places=2)),
            unit_price_minor=d(money),
            discount_minor=d(money),
            tax_rate=d(st.decimals(min_value=0, max_value=1, places=3)),
            net_minor=d(money),
            tax_minor=d(money),
            total_minor=d(money),
        )
        for p in range(d(st.integers(0, 4)))
    ]
    row = Invoice(
        id=d(UUIDS),
        clinic_id=d(UUIDS),
        number=d(st.none() | TEXT),
        patient_id=d(UUIDS),
        practitioner_id=d(st.none() | UUIDS),
        appointment_id=d(st.none() | UUIDS),
        encounter_id=d(st.none() | UUIDS),
        status=d(st.sampled_from(["draft", "issued", "void"])),
        currency=d(st.sampled_from(["EUR", "JPY", "KWD"])),
        created_at=d(WHEN),
        issued_at=d(st.none() | WHEN),
        due_date=d(st.none() | DAYS),
        void_reason=d(OPT_TEXT),
        voided_at=d(st.none() | WHEN),
        subtotal_minor=d(money),
        discount_minor=d(money),
        tax_minor=d(money),
        total_minor=d(money),
        note=d(OPT_TEXT),
        updated_at=d(WHEN),
        lines=lines,
    )
    _check(row, "invoice")


@given(data=st.data())
@SETTINGS
def test_clinical_note_round_trip(data: Any) -> None:
    d = data.draw
    signed = d(st.booleans())
    row = ClinicalNote(
        id=d(UUIDS),
        patient_id=d(UUIDS),
        encounter_id=d(st.none() | UUIDS),
        author_id=d(UUIDS),
        kind=d(st.sampled_from(["note", "addendum"])),
        addendum_to_id=d(st.none() | UUIDS),
        template=d(OPT_TEXT),
        subjective=d(NOTE_TEXT),
        objective=d(NOTE_TEXT),
        assessment=d(NOTE_TEXT),
        plan=d(NOTE_TEXT),
        status="signed" if signed else d(st.sampled_from(["draft", "entered-in-error"])),
        created_at=d(WHEN),
        signed_at=d(WHEN) if signed else None,
        signed_by_id=d(UUIDS) if signed else None,
        content_hash=d(st.from_regex(r"[0-9a-f]{64}", fullmatch=True)) if signed else None,
        updated_at=d(WHEN),
    )
    _check(row, "clinical_note")
