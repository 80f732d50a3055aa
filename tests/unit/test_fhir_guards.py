"""What an attacker or a bad peer would try: invalid resources, sealed staff secrets without
the key, a sealed blob moved to another account, and the AuditEvent keeping the chain."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import select

from pms_desktop.audit.chain import entry_hash
from pms_desktop.domain.errors import ValidationError
from pms_desktop.fhir.audit_event import audit_event_for, entry_from_audit_event
from pms_desktop.fhir.mapping import apply_resource, resource_for, table_for
from pms_desktop.fhir.secret_box import ClinicSecretBox
from pms_desktop.store.audit_log import entry_dict
from pms_desktop.store.models import AuditEntry, StaffUser
from tests.conftest import TOTP_SECRETS
from tests.unit import test_fhir_examples
from tests.unit.test_fhir_support import KEY, empty_store

records = test_fhir_examples.records  # the shared fixture: one row of every table


def test_staff_secrets_are_sealed_and_need_the_key(records: Any) -> None:
    session, ids = records
    staff = session.get(StaffUser, ids["staff_user"])
    resource = resource_for(session, "staff_user", staff.id, secrets=ClinicSecretBox(KEY))
    text = json.dumps(resource)
    assert staff.password_hash not in text and staff.totp_secret not in text
    assert all(secret not in text for secret in TOTP_SECRETS.values())
    with empty_store() as target:
        with pytest.raises(ValidationError, match="do not open"):
            apply_resource(target, resource, server_version=1, secrets=ClinicSecretBox(bytes(32)))
        with pytest.raises(ValidationError, match="clinic key"):
            apply_resource(target, resource, server_version=1, secrets=None)
        # A sealed blob copied onto another account does not open there.
        other = copy.deepcopy(resource)
        other["id"] = ids["clinic"]
        with pytest.raises(ValidationError):
            apply_resource(target, other, server_version=1, secrets=ClinicSecretBox(KEY))
        apply_resource(target, resource, server_version=1, secrets=ClinicSecretBox(KEY))
        got = target.get(StaffUser, staff.id)
        assert (got.password_hash, got.totp_secret) == (staff.password_hash, staff.totp_secret)
    assert "sealed-credentials" not in json.dumps(resource_for(session, "staff_user", staff.id))


@pytest.mark.parametrize(
    "breakage",
    [
        lambda r: r.pop("birthDate"),
        lambda r: r.update(gender=17),
        lambda r: r.update(unknownElement=True),
        lambda r: r.update(birthDate="17/05/1980"),
        lambda r: r.update(id="not a valid id with spaces"),
        lambda r: r.update(managingOrganization={"reference": "Practitioner/x"}),
        lambda r: r.update(resourceType="Nonsense"),
    ],
)
def test_invalid_patients_are_refused_with_a_clear_message(records: Any, breakage: Any) -> None:
    session, ids = records
    resource = resource_for(session, "patient", ids["patient"])
    breakage(resource)
    with empty_store() as target, pytest.raises(ValidationError) as err:
        apply_resource(target, resource, server_version=1)
    assert err.value.field_errors and str(err.value).startswith("Invalid FHIR resource")


def test_invalid_money_and_appointments_are_refused(records: Any) -> None:
    session, ids = records
    invoice = resource_for(session, "invoice", ids["invoice"])
    invoice["totalGross"]["value"] = "170.255"  # a fraction of a cent
    appt = resource_for(session, "appointment", ids["appointment"])
    appt["participant"] = appt["participant"][:1]
    for bad in (invoice, appt):
        with empty_store() as target, pytest.raises(ValidationError):
            apply_resource(target, bad, server_version=1)


def test_shared_resource_types_find_their_table(records: Any) -> None:
    session, ids = records
    assert table_for(resource_for(session, "credit_note", ids["credit_note"])) == "credit_note"
    assert table_for(resource_for(session, "invoice", ids["invoice"])) == "invoice"
    template = resource_for(session, "note_template", ids["note_template"])
    assert table_for(template) == "note_template"
    template["meta"].pop("tag")
    assert table_for(template) == "note_template"
    assert (
        table_for(
            {
                "resourceType": "Invoice",
                "extension": [
                    {
                        "url": "https://clinic-pms.example/fhir/StructureDefinition/credits-invoice",
                        "valueReference": {"reference": "Invoice/x"},
                    }
                ],
            }
        )
        == "credit_note"
    )


def test_signed_note_also_yields_its_provenance(records: Any) -> None:
    from pms_desktop.fhir.mapping import extra_resources_for

    session, ids = records
    (prov,) = extra_resources_for(session, "clinical_note", ids["clinical_note"])
    assert prov["resourceType"] == "Provenance"
    assert prov["target"] == [{"reference": f"Composition/{ids['clinical_note']}"}]
    assert extra_resources_for(session, "clinical_note", ids["addendum"]) == []  # a draft


def test_audit_event_carries_the_chain_exactly(records: Any) -> None:
    session, _ids = records
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert rows
    for row in rows:
        entry = entry_dict(row)
        event = audit_event_for(entry)
        assert event["id"] == entry["id"]
        back = entry_from_audit_event(json.loads(json.dumps(event)))
        assert back == entry and entry_hash(back) == entry["hash"]
