"""Vital signs: their LOINC codes and UCUM units, range rules and BMI (no I/O).

Two kinds of range per sign (adult values):
- *possible*: outside it the value cannot be a real measurement (a typo: 1200 mmHg, 4 degC);
  it is refused with a ``ValidationError`` naming the field, so the form can mark it.
- *reference*: outside it the value is real but abnormal; it is kept and flagged
  ``H`` or ``L`` (FHIR ObservationInterpretation codes).

Blood pressure is one Observation (LOINC 85354-9 panel) with two components, systolic and
diastolic, as the FHIR vital-signs profile asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .errors import ValidationError

LOINC = "http://loinc.org"
BP_PANEL_CODE = "85354-9"
BP_PANEL_DISPLAY = "Blood pressure panel with all children optional"
BMI_CODE = "39156-5"


@dataclass(frozen=True)
class VitalSpec:
    field: str  # the form field and the key of ``values``
    label: str
    code: str  # LOINC
    display: str
    unit: str  # UCUM
    possible: tuple[Decimal, Decimal]
    reference: tuple[Decimal | None, Decimal | None]  # low, high; None: no flag that side
    places: int = 0


def _d(text: str) -> Decimal:
    return Decimal(text)


SPECS: tuple[VitalSpec, ...] = (
    VitalSpec("systolic", "Systolic BP", "8480-6", "Systolic blood pressure", "mm[Hg]",
              (_d("40"), _d("300")), (_d("90"), _d("139"))),
    VitalSpec("diastolic", "Diastolic BP", "8462-4", "Diastolic blood pressure", "mm[Hg]",
              (_d("20"), _d("200")), (_d("60"), _d("89"))),
    VitalSpec("heart_rate", "Heart rate", "8867-4", "Heart rate", "/min",
              (_d("20"), _d("300")), (_d("60"), _d("100"))),
    VitalSpec("respiratory_rate", "Respiratory rate", "9279-1", "Respiratory rate", "/min",
              (_d("3"), _d("80")), (_d("12"), _d("20"))),
    VitalSpec("temperature", "Temperature", "8310-5", "Body temperature", "Cel",
              (_d("25"), _d("45")), (_d("36.0"), _d("37.9")), places=1),
    VitalSpec("spo2", "SpO2", "59408-5",
              "Oxygen saturation in Arterial blood by Pulse oximetry", "%",
              (_d("50"), _d("100")), (_d("94"), None)),
    VitalSpec("weight", "Weight", "29463-7", "Body weight", "kg",
              (_d("0.3"), _d("500")), (None, None), places=1),
    VitalSpec("height", "Height", "8302-2", "Body height", "cm",
              (_d("20"), _d("260")), (None, None), places=1),
)
BMI_SPEC = VitalSpec("bmi", "BMI", BMI_CODE, "Body mass index (BMI) [Ratio]", "kg/m2",
                     (_d("5"), _d("150")), (_d("18.5"), _d("24.9")), places=1)

BY_FIELD: dict[str, VitalSpec] = {s.field: s for s in (*SPECS, BMI_SPEC)}
BY_CODE: dict[str, VitalSpec] = {s.code: s for s in (*SPECS, BMI_SPEC)}
FIELDS: tuple[str, ...] = tuple(s.field for s in SPECS)

# Human unit labels for forms (the UCUM code is what is stored).
UNIT_LABELS = {"mm[Hg]": "mmHg", "/min": "/min", "Cel": "°C", "%": "%", "kg": "kg", "cm": "cm",
               "kg/m2": "kg/m²"}


def parse_value(text: object) -> Decimal | None:
    """'' or None -> None; '37,2' -> Decimal('37.2'); anything else not a finite number (NaN,
    an infinity, True) -> ValueError."""
    if text is None:
        return None
    if isinstance(text, int) and not isinstance(text, bool):
        return Decimal(text)
    if isinstance(text, Decimal):  # a caller's Decimal is checked as a typed one is
        raw = str(text)
    else:  # a float too: its text ('nan', 'inf') is refused below
        raw = str(text).strip().replace(",", ".")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(raw) from None
    if not value.is_finite():
        raise ValueError(raw)
    return value


def interpret(spec: VitalSpec, value: Decimal) -> str:
    """FHIR interpretation code: 'H', 'L' or 'N'."""
    low, high = spec.reference
    if low is not None and value < low:
        return "L"
    if high is not None and value > high:
        return "H"
    return "N"


def validate(values: dict[str, object]) -> dict[str, Decimal]:
    """Parse and range-check a vitals form; raise ValidationError naming every bad field.

    Unknown keys are refused too (a typo in a caller must not silently drop a value).
    """
    errors: dict[str, str] = {}
    out: dict[str, Decimal] = {}
    for key, raw in values.items():
        spec = BY_FIELD.get(key)
        if spec is None or spec is BMI_SPEC:
            errors[key] = "Unknown measurement."
            continue
        try:
            value = parse_value(raw)
        except ValueError:
            errors[key] = "Enter a number."
            continue
        if value is None:
            continue
        low, high = spec.possible
        if not low <= value <= high:
            unit = UNIT_LABELS.get(spec.unit, spec.unit)
            errors[key] = f"{value} {unit} is not possible (allowed {low}–{high} {unit})."
            continue
        out[key] = value
    if "systolic" in out and "diastolic" in out and out["diastolic"] >= out["systolic"]:
        errors["diastolic"] = "Diastolic must be lower than systolic."
    if ("systolic" in out) != ("diastolic" in out) and not errors:
        missing = "diastolic" if "systolic" in out else "systolic"
        errors[missing] = "Enter both systolic and diastolic."
    if errors:
        raise ValidationError(errors)
    return out


def bmi(weight_kg: Decimal, height_cm: Decimal) -> Decimal:
    """Body mass index in kg/m2, one decimal place (half up)."""
    if height_cm <= 0:
        raise ValueError("height must be positive")
    metres = height_cm / Decimal(100)
    return (weight_kg / (metres * metres)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def format_value(spec: VitalSpec, value: Decimal) -> str:
    q = Decimal(1).scaleb(-spec.places)
    return str(value.quantize(q, rounding=ROUND_HALF_UP))
