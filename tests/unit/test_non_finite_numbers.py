# ruff: noqa: F811  (pytest fixtures imported from conftest_billing)
"""NaN and infinity never reach a FHIR resource: the forms' services refuse them where they are
typed (vitals, invoice lines, fee items) with a message on the field and store nothing; the
push's body writer refuses one that got past them (``canonical_json``: orjson would write a
float NaN as ``null``, ``json`` as ``NaN``), naming where it is; the export's writer and reader
refuse them too."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import ValidationError
from pms_desktop.fhir import json_io
from pms_desktop.services.billing_dto import LineInput
from pms_desktop.store.models import FeeItem, Invoice, Observation, OutboxChange
from pms_desktop.sync.engine import canonical_json
from pms_desktop.sync.finite_numbers import NonFiniteNumber

from .conftest_billing import fees  # noqa: F401

NOT_FINITE: list[object] = ["NaN", "nan", "Infinity", "-inf", " inf ", Decimal("NaN"),
                            Decimal("-Infinity"), Decimal("sNaN"), float("nan"), float("inf")]


def _count(ctx: Any, model: Any) -> int:
    with ctx.db.sessions()() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("raw", NOT_FINITE, ids=repr)
def test_vitals_refuse_a_number_that_is_not_finite(ctx, actors, make_patient, raw):  # type: ignore[no-untyped-def]
    pid = make_patient()
    before = _count(ctx, Observation), _count(ctx, OutboxChange)
    with pytest.raises(ValidationError) as e:
        ctx.clinical.record_vitals(actors[Role.CLINICIAN], patient_id=pid,
                                   values={"heart_rate": raw, "weight": "80"})
    assert e.value.field_errors == {"heart_rate": "Enter a number."}
    assert (_count(ctx, Observation), _count(ctx, OutboxChange)) == before


@pytest.mark.parametrize(("quantity", "rate", "said"), [
    (Decimal("NaN"), None, "the quantity must be a number"),
    (Decimal("Infinity"), None, "the quantity must be a number"),
    (float("nan"), None, "the quantity must be a number"),
    (Decimal(1), Decimal("NaN"), "the tax rate must be a number"),
    (Decimal(1), Decimal("-Infinity"), "the tax rate must be a number"),
])
def test_an_invoice_line_refuses_a_number_that_is_not_finite(  # type: ignore[no-untyped-def]
        fees, actors, make_patient, quantity, rate, said):  # noqa: F811
    pid = make_patient()
    before = _count(fees, Invoice), _count(fees, OutboxChange)
    line = LineInput(description="Dressing", quantity=quantity, unit_price_minor=500,
                     tax_rate=rate)
    with pytest.raises(ValidationError) as e:
        fees.billing.create_invoice(actors[Role.PRACTICE_MANAGER], patient_id=pid, lines=[line])
    assert e.value.field_errors == {"lines[0]": f"Line 1: {said}."}
    assert (_count(fees, Invoice), _count(fees, OutboxChange)) == before


@pytest.mark.parametrize("rate", [Decimal("NaN"), Decimal("Infinity"), Decimal("sNaN")], ids=str)
def test_a_fee_item_refuses_a_tax_rate_that_is_not_finite(fees, actors, rate):  # type: ignore[no-untyped-def]  # noqa: F811
    before = _count(fees, FeeItem)
    with pytest.raises(ValidationError) as e:
        fees.billing.save_fee_item(actors[Role.PRACTICE_MANAGER], code="DRESS",
                                   description="Dressing", price_minor=500, tax_rate=rate)
    assert set(e.value.field_errors) == {"tax_rate"}
    assert _count(fees, FeeItem) == before


def _body(resource: dict[str, Any]) -> dict[str, Any]:
    return {"change_id": "c1", "resource_type": "Observation", "resource_id": "o1",
            "op": "create", "base_version": None, "resource": resource}


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf"), Decimal("NaN"),
                                 Decimal("Infinity"), Decimal("-Infinity")], ids=repr)
def test_the_push_body_refuses_a_number_that_is_not_finite(bad: object) -> None:
    resource = {"resourceType": "Observation", "status": "final",
                "component": [{"code": {"text": "systolic"}},
                              {"valueQuantity": {"value": bad, "unit": "mm[Hg]"}}]}
    with pytest.raises(NonFiniteNumber) as e:
        canonical_json(_body(resource))
    assert e.value.path == "resource.component[1].valueQuantity.value"
    assert "not finite" in str(e.value) and "resource.component[1].valueQuantity.value" \
        in str(e.value)
    # where orjson cannot write the body (an integer beyond 64 bits), json's way refuses too
    resource["valueInteger"] = 2**70
    with pytest.raises(NonFiniteNumber):
        canonical_json(_body(resource))


def test_the_push_body_writes_finite_numbers_and_its_own_nulls_as_before() -> None:
    resource = {"resourceType": "Observation", "note": [{"text": "null and NaN, typed"}],
                "valueQuantity": {"value": Decimal("37.20"), "unit": "Cel"},
                "component": [{"valueInteger": 3}, {"valueDecimal": 0.5}]}
    text = canonical_json(_body(resource))
    assert text == json.dumps(_body({**resource, "valueQuantity": {"value": "37.20",
                                                                    "unit": "Cel"}}),
                              sort_keys=True, separators=(",", ":")).replace(
        '"value":"37.20"', '"value":37.20')
    assert canonical_json({**_body(resource), "op": "delete", "resource": None}) \
        .count("null") == 2


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), Decimal("NaN")], ids=repr)
def test_the_export_writer_refuses_a_number_that_is_not_finite(bad: object) -> None:
    with pytest.raises(ValueError):
        json_io.dumps({"valueQuantity": {"value": bad}})


@pytest.mark.parametrize("text", ['{"value": NaN}', '{"value": Infinity}', '[-Infinity]'])
def test_the_export_reader_refuses_a_number_that_is_not_finite(text: str) -> None:
    with pytest.raises(ValueError, match="finite"):
        json_io.loads(text)
