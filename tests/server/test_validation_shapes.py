"""Validation by known shapes decides exactly as ``fhir.resources`` does: resources of a shape
seen before, with their values changed to valid and invalid ones, are accepted and refused as
the library's models accept and refuse them; a refused one gets the library's message."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from sync_server.fhir.shapes import ShapeCache, _field
from sync_server.fhir.validate import _model
from tests.server.server_helpers import Tenant

EXT = "https://example.org/fhir/StructureDefinition"
RESOURCES: list[dict[str, Any]] = [
    {"resourceType": "Patient", "id": "p1", "active": True, "gender": "female",
     "birthDate": "1980-05-01", "meta": {"tag": [{"system": "urn:t", "code": "patient"}]},
     "extension": [{"url": f"{EXT}/updated", "valueDateTime": "2024-01-02T10:00:00Z"},
                   {"url": f"{EXT}/by", "valueString": "ann"}],
     "name": [{"family": "Smith", "given": ["Jo", "Ann"], "use": "official"}],
     "telecom": [{"system": "phone", "value": "+44 20 1234", "rank": 1}],
     "_birthDate": {"extension": [{"url": f"{EXT}/exact", "valueBoolean": False}]},
     "address": [{"line": ["1 High St"], "city": "Leeds", "postalCode": "LS1"}]},
    {"resourceType": "Observation", "id": "o1", "status": "final",
     "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
     "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2024-03-01T09:30:00+01:00",
     "valueQuantity": {"value": 72.5, "unit": "/min", "system": "http://unitsofmeasure.org",
                       "code": "/min"}},
    {"resourceType": "Invoice", "id": "i1", "status": "issued", "date": "2024-03-01",
     "subject": {"reference": "Patient/p1"},
     "lineItem": [{"sequence": 1, "chargeItemCodeableConcept": {"text": "Visit"},
                   "priceComponent": [{"type": "base", "factor": 1,
                                       "amount": {"value": 40.0, "currency": "GBP"}}]}],
     "totalGross": {"value": 40.0, "currency": "GBP"}},
    {"resourceType": "Appointment", "id": "a1", "status": "booked",
     "start": "2024-03-01T09:00:00Z", "end": "2024-03-01T09:30:00Z", "minutesDuration": 30,
     "participant": [{"actor": {"reference": "Patient/p1"}, "status": "accepted"}]},
]
# Replacement values: valid for some fields, invalid for others, of every JSON kind.
VALUES: list[Any] = [
    "", " ", "x", "a b", "\n", "ab\tc", "2020-13-01", "2020-02-30", "2020-01-01",
    "2020-01-01T10:00:00", "2020-01-01T10:00:00Z", "2020-01-01T10:00:60+01:00", "2020",
    "10:00", "1", "-1", "1.5", "true", "urn:uuid:x", "http://x", "Patient/1", "male", "é",
    "x" * 2000, 0, 1, -1, 2**40, 2**70, 1.5, -0.0, 1e308, True, False,
]


def _leaves(value: Any, path: tuple[Any, ...], out: list[tuple[Any, ...]]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key != "resourceType":
                _leaves(item, (*path, key), out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _leaves(item, (*path, index), out)
    else:
        out.append(path)


def _set(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    target: Any = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


def _library(model: type, data: dict[str, Any]) -> bool:
    try:
        model.model_validate(copy.deepcopy(data))  # type: ignore[attr-defined]
    except (ValidationError, ValueError, TypeError):
        return False
    return True


def test_known_shapes_decide_as_the_library() -> None:
    shapes, rng = ShapeCache(), random.Random(7)
    for resource in RESOURCES:
        model = _model(resource["resourceType"])
        shapes.validate(model, resource, lambda m=model, r=resource: m.model_validate(r))
    assert shapes.misses == len(RESOURCES)
    decided = {True: 0, False: 0}
    for resource in RESOURCES:
        model = _model(resource["resourceType"])
        leaves: list[tuple[Any, ...]] = []
        _leaves(resource, (), leaves)
        for _ in range(150):
            changed = copy.deepcopy(resource)
            for path in rng.sample(leaves, rng.choice([1, 1, 2, 3])):
                _set(changed, path, rng.choice(VALUES))
            expected = _library(model, changed)
            hits = shapes.hits
            try:
                shapes.validate(model, changed,
                                lambda m=model, c=changed: m.model_validate(copy.deepcopy(c)))
                accepted = True
            except (ValidationError, ValueError, TypeError):
                accepted = False
            assert accepted == expected, changed
            if shapes.hits > hits:  # decided by the shape's plan alone
                decided[accepted] += 1
    # The plans did the work for valid resources; invalid ones went to the library (refused).
    assert decided[True] > 100
    assert decided[False] == 0


def test_a_value_failing_its_plan_gets_the_library_message(client: TestClient,
                                                           clinic_a: Tenant) -> None:
    good = copy.deepcopy(RESOURCES[0])
    assert client.put("/fhir/Patient/p1", json=good,
                      headers=clinic_a.headers).status_code in (200, 201)
    for element, value in (("birthDate", "1st May"), ("active", "sometimes")):
        bad = copy.deepcopy(good)
        bad[element] = value
        response = client.put("/fhir/Patient/p1", json=bad, headers=clinic_a.headers)
        assert response.status_code == 400, response.text
        outcome = response.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["diagnostics"].startswith(f"invalid Patient: {element}")
        assert value not in response.text  # the input value is not echoed


@pytest.mark.parametrize(("valid", "invalid"), [
    ({"contained": [{"resourceType": "Practitioner", "id": "d1", "active": True}]},
     {"contained": [{"resourceType": "Practitioner", "id": "d1", "active": "sometimes"}]}),
    ({"name": ['{"family": "Smith"}']}, {"name": ['{"family": "Smith", "bogus": "x"}']}),
])
def test_shapes_whose_validity_rests_on_values_are_not_kept(valid: dict[str, Any],
                                                            invalid: dict[str, Any]) -> None:
    """A contained resource's class comes from its resourceType, an element given as JSON
    text is parsed: such shapes always go the whole way through the library."""
    shapes = ShapeCache()
    model = _model("Patient")
    data = {"resourceType": "Patient", "id": "p1", **valid}
    shapes.validate(model, data, lambda: model.model_validate(data))
    wrong = {"resourceType": "Patient", "id": "p1", **invalid}
    with pytest.raises(ValidationError):
        shapes.validate(model, wrong, lambda: model.model_validate(wrong))
    assert shapes.hits == 0


# FHIR date, dateTime and instant strings: the common forms a plan checks in Rust first, and
# their edges (calendar, year 0-999, leap seconds, zones, fractions, a final newline, digits
# that are not ASCII, partial dates, no zone).
DATES = [
    "2020-01-01", "2020-02-29", "2021-02-29", "2020-04-31", "2020-12-31", "0999-01-01",
    "0001-01-01", "0000-01-01", "1000-01-01", "9999-12-31", "2020-13-01", "2020-00-10",
    "2020-1-01", "2020", "2020-06", "2020-01-01\n", " 2020-01-01", "2020-01-01 ",
    "２０２０-01-01", "2020-01-01T10:00:00Z", "2020-01-01T10:00:00+14:00",
    "2020-01-01T10:00:00+14:01", "2020-01-01T10:00:00-13:59", "2020-01-01T10:00:00+15:00",
    "2020-01-01T10:00:00.123456789Z", "2020-01-01T10:00:00.Z", "2020-01-01T10:00:00",
    "2020-01-01T10:00Z", "2020-01-01T24:00:00Z", "2020-01-01T23:59:60Z",
    "2020-06-30T23:59:60+01:00", "2021-02-29T10:00:00Z", "2020-01-01T10:00:00Z\n",
    "2020-01-01t10:00:00z", "0999-01-01T10:00:00Z", "2020-01-01T10:00:00+00:00",
    "2026-11-22T00:44:02.848033+00:00",
]


@pytest.mark.parametrize(("base", "element"), [
    (RESOURCES[0], "birthDate"),  # date
    (RESOURCES[1], "effectiveDateTime"),  # dateTime
    (RESOURCES[3], "start"),  # instant
])
def test_date_types_decide_as_the_library(base: dict[str, Any], element: str) -> None:
    shapes = ShapeCache()
    model = _model(base["resourceType"])
    shapes.validate(model, base, lambda: model.model_validate(base))
    by_plan = 0
    for text in DATES:
        changed = {**base, element: text}
        hits = shapes.hits
        try:
            shapes.validate(model, changed,
                            lambda c=changed: model.model_validate(copy.deepcopy(c)))
            accepted = True
        except (ValidationError, ValueError, TypeError):
            accepted = False
        assert accepted == _library(model, changed), text
        by_plan += shapes.hits - hits
    assert by_plan >= 4  # the common forms were decided by the plan


def test_common_date_forms_skip_the_python_validator(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plan checks a date type's common form in Rust; the type's own validator (Python,
    ~3 us a value) runs only for the other forms."""
    from fhir_core.types import Date, DateTime

    calls: list[str] = []
    for kind in (Date, DateTime):
        original = kind.__dict__["_validate"].__func__

        def counted(cls: type, value: Any, *rest: Any, _f: Any = original) -> Any:
            calls.append(value)
            return _f(cls, value, *rest)

        monkeypatch.setattr(kind, "_validate", classmethod(counted))
    _field.cache_clear()  # plans built from here on call the counting validators
    try:
        shapes, model = ShapeCache(), _model("Patient")
        patient = copy.deepcopy(RESOURCES[0])
        shapes.validate(model, patient, lambda: model.model_validate(patient))
        calls.clear()
        for birth, stamp in (("1999-12-31", "2024-05-06T07:08:09.123+02:00"),
                             ("1975", "2024-05-06")):
            patient["birthDate"], patient["extension"][0]["valueDateTime"] = birth, stamp
            shapes.validate(model, patient, lambda: model.model_validate(patient))
    finally:
        _field.cache_clear()
    assert shapes.hits == 2
    # Only the partial date and the date-only dateTime (whose validator calls Date's too).
    assert set(calls) == {"1975", "2024-05-06"}


def test_shapes_tell_structures_apart() -> None:
    """A shape is a flat tuple of tokens: structures that differ, even with keys spelt like
    the tokens' names, never share one; the same structure with other values does."""
    from sync_server.fhir.shapes import shape_of

    different: list[Any] = [
        {}, [], {"a": {}}, {"a": []}, {"a": [{}]}, {"a": [[]]}, {"a": {}, "b": {}},
        {"a": {"b": {}}}, {"a": [{}, {}]}, {"a": [{}], "b": 1}, {"a": [{"b": 1}]},
        {"a": [{}, 1]}, {"a": 1}, {"a": "x"}, {"a": 1.5}, {"a": True}, {"a": None},
        {"{": 1}, {"}": 1}, {"[": 1}, {"]": 1}, {"=": 1}, {"a": {"}": 1}},
        {"resourceType": "Patient"}, {"resourceType": "Practitioner"}, {"resourceType": 1},
        {"a": {"resourceType": "Patient"}}, [1, "x"], ["x", 1], [None], [[1]], [[], 1],
    ]
    shapes = [shape_of(value, []) for value in different]
    assert len(set(shapes)) == len(different)
    values: list[Any] = []
    assert shape_of({"a": [{"b": 2, "c": "y"}], "d": False}, values) == shape_of(
        {"a": [{"b": 7, "c": "z"}], "d": True}, [])
    assert values == [2, "y", False]
