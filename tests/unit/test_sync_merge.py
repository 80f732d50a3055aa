"""The three-way merge: one-sided edits merge, both-sided edits of one unit conflict; a unit
is what a person decides as one (an address, a phone list, an appointment's time); a signed
note is never pieced together; nothing depends on the change stamps' times."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pms_desktop.sync.merge import display_value, field_label, three_way, units_of

BASE = {
    "resourceType": "Patient",
    "id": "p1",
    "meta": {"versionId": "1"},
    "gender": "female",
    "birthDate": "1980-01-01",
    "name": [{"family": "Byrne"}],
    "extension": [{"url": "x/notes", "valueString": "old"}],
}


def test_one_sided_edits_merge_without_conflict() -> None:
    local = {**BASE, "gender": "other"}
    remote = {**BASE, "name": [{"family": "Walsh"}]}
    result = three_way(BASE, local, remote)
    assert result.conflicts == ()
    assert result.merged["gender"] == "other" and result.merged["name"] == [{"family": "Walsh"}]


def test_same_field_changed_on_both_sides_keeps_both_values() -> None:
    local = {**BASE, "extension": [{"url": "x/notes", "valueString": "mine"}]}
    remote = {**BASE, "extension": [{"url": "x/notes", "valueString": "theirs"}]}
    [conflict] = three_way(BASE, local, remote).conflicts
    assert conflict.field == "extension:x/notes"
    assert conflict.local == {"valueString": "mine"} and conflict.remote == {
        "valueString": "theirs"
    }


STAMP = "https://clinic-pms.example/fhir/StructureDefinition/record-updated"


def _stamped(resource: dict, at: str) -> dict:
    return {
        **resource,
        "extension": [*resource.get("extension", []), {"url": STAMP, "valueInstant": at}],
    }


def test_change_stamps_never_conflict_and_an_equal_merge_is_the_remote_resource() -> None:
    local = _stamped(BASE, "2025-01-03T00:00:00+00:00")  # the later stamp, on the local side
    remote = _stamped(BASE, "2025-01-02T00:00:00+00:00")
    result = three_way(BASE, local, remote)
    assert result.conflicts == () and result.same_as_remote
    assert {"url": STAMP, "valueInstant": "2025-01-02T00:00:00+00:00"} in result.merged["extension"]


@given(
    local_at=st.sampled_from(["2025-01-01T00:00:00+00:00", "2025-06-01T12:00:00+00:00"]),
    remote_at=st.sampled_from(["2025-01-01T00:00:00+00:00", "2025-06-01T12:00:00+00:00"]),
)
def test_no_outcome_depends_on_the_stamps_times(local_at: str, remote_at: str) -> None:
    """Clocks hours apart: who "changed last" by the clock never picks a value."""
    local = _stamped({**BASE, "gender": "other", "birthDate": "1981-01-01"}, local_at)
    remote = _stamped({**BASE, "gender": "male", "name": [{"family": "Walsh"}]}, remote_at)
    result = three_way(BASE, local, remote)
    assert [c.field for c in result.conflicts] == ["gender"]
    assert result.merged["gender"] == "other"  # local stays; the remote value is in the conflict
    assert result.merged["birthDate"] == "1981-01-01"
    assert result.merged["name"] == [{"family": "Walsh"}]
    assert {"url": STAMP, "valueInstant": local_at} in result.merged["extension"]


ADDRESS = [{"line": ["1 Main St"], "city": "Cork", "postalCode": "T12"}]
PHONE = {
    "id": "t1",
    "system": "phone",
    "use": "mobile",
    "value": "0871",
    "rank": 1,
    "extension": [{"url": "x/digits", "valueString": "0871"}],
}
EMAIL = {"id": "email", "system": "email", "value": "a@b.ie"}
DIGITS = {
    "url": "https://clinic-pms.example/fhir/StructureDefinition/phone-digits",
    "valueString": "0871",
}
PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "address": ADDRESS,
    "telecom": [PHONE, EMAIL],
    "extension": [DIGITS],
}


def test_an_address_changed_in_different_parts_is_one_conflict_named_address() -> None:
    local = {**PATIENT, "address": [{**ADDRESS[0], "city": "Galway"}]}
    remote = {**PATIENT, "address": [{**ADDRESS[0], "line": ["2 Quay St"], "postalCode": "H91"}]}
    [conflict] = three_way(PATIENT, local, remote).conflicts
    assert conflict.field == "address" and field_label(conflict.field) == "Address"
    assert display_value(conflict.local) == "1 Main St, Galway, T12"
    assert display_value(conflict.remote) == "2 Quay St, Cork, H91"


def test_phone_and_email_are_decided_apart_and_the_search_key_follows_the_phone() -> None:
    phone2 = {**PHONE, "value": "0862", "extension": [{"url": "x/digits", "valueString": "0862"}]}
    local = {
        **PATIENT,
        "telecom": [phone2, EMAIL],
        "extension": [{**DIGITS, "valueString": "0862"}],
    }
    remote = {**PATIENT, "telecom": [PHONE, {**EMAIL, "value": "new@b.ie"}]}
    result = three_way(PATIENT, local, remote)
    assert result.conflicts == ()
    assert units_of(result.merged)["phone"]["telecom#phone"] == [phone2]
    assert units_of(result.merged)["email"] == [{**EMAIL, "value": "new@b.ie"}]
    assert {**DIGITS, "valueString": "0862"} in result.merged["extension"]


def test_phones_changed_on_both_sides_are_one_phone_conflict_shown_as_numbers() -> None:
    local = {
        **PATIENT,
        "telecom": [{**PHONE, "value": "0862"}, EMAIL],
        "extension": [{**DIGITS, "valueString": "0862"}],
    }
    remote = {
        **PATIENT,
        "telecom": [{**PHONE, "value": "0853"}, EMAIL],
        "extension": [{**DIGITS, "valueString": "0853"}],
    }
    [conflict] = three_way(PATIENT, local, remote).conflicts
    assert field_label(conflict.field) == "Phone"
    assert display_value(conflict.local, conflict.field) == "0862 (mobile)"
    assert display_value(conflict.remote, conflict.field) == "0853 (mobile)"


APPT_STATUS = "https://clinic-pms.example/fhir/StructureDefinition/appointment-status"
ARRIVED_AT = "https://clinic-pms.example/fhir/StructureDefinition/arrived-at"
APPOINTMENT = {
    "resourceType": "Appointment",
    "id": "a1",
    "status": "booked",
    "start": "2031-03-04T09:00:00+00:00",
    "end": "2031-03-04T09:30:00+00:00",
    "extension": [{"url": APPT_STATUS, "valueCode": "booked"}],
    "participant": [
        {"actor": {"reference": "Patient/p1"}, "status": "accepted"},
        {"actor": {"reference": "Practitioner/d1"}, "status": "accepted"},
    ],
}


def test_an_appointment_moved_on_both_sides_is_one_time_conflict() -> None:
    local = {
        **APPOINTMENT,
        "start": "2031-03-04T10:00:00+00:00",
        "end": "2031-03-04T10:30:00+00:00",
    }
    remote = {
        **APPOINTMENT,
        "start": "2031-03-04T11:00:00+00:00",
        "end": "2031-03-04T11:30:00+00:00",
    }
    [conflict] = three_way(APPOINTMENT, local, remote).conflicts
    assert conflict.field == "time" and field_label(conflict.field) == "Time"


def test_checked_in_on_both_sides_is_no_conflict_and_a_new_patient_merges_with_a_move() -> None:
    def arrived(at: str) -> list[dict]:
        return [
            {"url": APPT_STATUS, "valueCode": "arrived"},
            {"url": ARRIVED_AT, "valueDateTime": at},
        ]

    parts = APPOINTMENT["participant"]
    local = {
        **APPOINTMENT,
        "status": "arrived",
        "extension": arrived("2031-03-04T08:58:00+00:00"),
        "participant": [{"actor": {"reference": "Patient/p2"}, "status": "accepted"}, parts[1]],
    }
    remote = {
        **APPOINTMENT,
        "status": "arrived",
        "extension": arrived("2031-03-04T08:59:00+00:00"),
        "participant": [
            parts[0],
            {"actor": {"reference": "Practitioner/d2"}, "status": "accepted"},
        ],
    }
    result = three_way(APPOINTMENT, local, remote)
    assert result.conflicts == ()
    assert units_of(result.merged)["patient"][0]["actor"]["reference"] == "Patient/p2"
    assert units_of(result.merged)["practitioner"][0]["actor"]["reference"] == "Practitioner/d2"
    # the arrival time follows the status both agree on: the remote one, the same everywhere
    assert {"url": ARRIVED_AT, "valueDateTime": "2031-03-04T08:59:00+00:00"} in result.merged[
        "extension"
    ]


SECTION = "http://loinc.org"


def _section(code: str, text: str | None) -> dict:
    body: dict = {"code": {"coding": [{"system": SECTION, "code": code}]}}
    if text:
        body["text"] = {"status": "additional", "div": f"<div>{text}</div>"}
    return body


DRAFT = {
    "resourceType": "Composition",
    "id": "n1",
    "status": "preliminary",
    "section": [_section("61150-9", "cough"), _section("18776-5", None)],
}


def test_a_note_signed_on_one_side_comes_whole_from_there_and_the_other_edits_conflict() -> None:
    signed = {
        **DRAFT,
        "status": "final",
        "attester": [{"mode": "legal"}],
        "section": [_section("61150-9", "cough, 3 days"), _section("18776-5", None)],
    }
    edited = {**DRAFT, "section": [_section("61150-9", "cough"), _section("18776-5", "rest")]}
    for local, remote in ((edited, signed), (signed, edited)):
        result = three_way(DRAFT, local, remote)
        assert units_of(result.merged) == units_of(signed)
        [conflict] = result.conflicts
        assert (conflict.kind, field_label(conflict.field)) == ("signed", "Plan")
        lost = conflict.local if local is edited else conflict.remote
        assert display_value(lost) == "rest"


def test_labels_are_words_a_person_uses() -> None:
    assert field_label("birthDate") == "Date of birth"
    assert (
        field_label("extension:https://x.example/StructureDefinition/reception-notes")
        == "Reception notes"
    )
    assert field_label("extension:https://x.example/sync-column-postal_code") == "Postal code"
    assert field_label("cancelationReason") == "Cancellation reason"


values = st.sampled_from(["a", "b", "c", None])


@given(base=values, local=values, remote=values)
def test_no_edit_is_ever_lost(base: str | None, local: str | None, remote: str | None) -> None:
    def res(v: str | None) -> dict[str, object]:
        return {"resourceType": "Patient", "id": "p1", **({"gender": v} if v else {})}

    result = three_way(res(base), res(local), res(remote))
    merged = units_of(result.merged).get("gender")
    if local != base and remote != base and local != remote:
        [c] = result.conflicts
        assert (c.local, c.remote) == (local, remote)  # both kept for a person
    else:
        assert result.conflicts == ()
        assert merged == (remote if local == base else local)
