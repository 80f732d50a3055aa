"""Vital-sign rules (no store): ranges refused or flagged, BMI, parsing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pms_desktop.domain import vitals as V
from pms_desktop.domain.errors import ValidationError


def test_codes_and_units_follow_the_vital_signs_profile():
    expected = {"systolic": ("8480-6", "mm[Hg]"), "diastolic": ("8462-4", "mm[Hg]"),
                "heart_rate": ("8867-4", "/min"), "respiratory_rate": ("9279-1", "/min"),
                "temperature": ("8310-5", "Cel"), "spo2": ("59408-5", "%"),
                "weight": ("29463-7", "kg"), "height": ("8302-2", "cm"),
                "bmi": ("39156-5", "kg/m2")}
    assert {f: (s.code, s.unit) for f, s in V.BY_FIELD.items()} == expected
    assert V.BP_PANEL_CODE == "85354-9"


@pytest.mark.parametrize("field,value", [
    ("systolic", "1200"), ("systolic", "20"), ("heart_rate", "0"), ("temperature", "3.7"),
    ("temperature", "47"), ("spo2", "101"), ("weight", "0"), ("height", "400"),
    ("respiratory_rate", "150"),
])
def test_impossible_values_are_refused_naming_the_field(field, value):
    values = {"heart_rate": "72", field: value}
    if field == "systolic":
        values["diastolic"] = "15" if value == "20" else "80"
    with pytest.raises(ValidationError) as info:
        V.validate(values)
    assert field in info.value.field_errors
    assert "not possible" in info.value.field_errors[field]


def test_every_bad_field_is_named_at_once():
    with pytest.raises(ValidationError) as info:
        V.validate({"heart_rate": "abc", "temperature": "370", "weight": "70"})
    assert set(info.value.field_errors) == {"heart_rate", "temperature"}
    assert info.value.field_errors["heart_rate"] == "Enter a number."


def test_diastolic_must_be_below_systolic_and_both_given():
    with pytest.raises(ValidationError) as info:
        V.validate({"systolic": "80", "diastolic": "120"})
    assert "diastolic" in info.value.field_errors
    with pytest.raises(ValidationError) as info:
        V.validate({"systolic": "120"})
    assert "diastolic" in info.value.field_errors


def test_blank_fields_are_skipped_and_commas_accepted():
    assert V.validate({"temperature": "37,2", "weight": "", "height": None}) == {
        "temperature": Decimal("37.2")}


@pytest.mark.parametrize("field,value,flag", [
    ("systolic", "150", "H"), ("systolic", "85", "L"), ("systolic", "120", "N"),
    ("heart_rate", "45", "L"), ("heart_rate", "130", "H"), ("temperature", "38.4", "H"),
    ("temperature", "35.2", "L"), ("spo2", "89", "L"), ("spo2", "100", "N"),
    ("respiratory_rate", "28", "H"),
])
def test_abnormal_values_are_flagged(field, value, flag):
    assert V.interpret(V.BY_FIELD[field], Decimal(value)) == flag


@pytest.mark.parametrize("weight,height,expected", [
    ("70", "175", "22.9"), ("95.5", "180", "29.5"), ("50", "160", "19.5"), ("120", "165", "44.1"),
])
def test_bmi(weight, height, expected):
    assert V.bmi(Decimal(weight), Decimal(height)) == Decimal(expected)


def test_bmi_flags():
    assert V.interpret(V.BMI_SPEC, Decimal("31.2")) == "H"
    assert V.interpret(V.BMI_SPEC, Decimal("17.0")) == "L"


def test_unknown_field_is_refused():
    with pytest.raises(ValidationError) as info:
        V.validate({"pulse": "70"})
    assert "pulse" in info.value.field_errors
