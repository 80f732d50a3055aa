"""Shared pieces of the FHIR mapping: extension URLs, value conversions, references, validation.

Nothing here knows a particular table. Everything we need that FHIR R4 lacks travels in an
extension under ``EXT`` (one URL per local field), so a round trip local -> FHIR -> local keeps
every column. Money and decimals stay ``Decimal`` end to end (never float); ``json_io.dumps``
writes them as exact JSON numbers.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError as PydanticValidationError

from ..domain.errors import ValidationError
from ..domain.money import exponent

BASE = "https://clinic-pms.example/fhir"
EXT = f"{BASE}/StructureDefinition/"
CS = f"{BASE}/CodeSystem/"
TABLE_TAG_SYSTEM = f"{CS}local-table"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
XHTML_NS = "http://www.w3.org/1999/xhtml"

Json = dict[str, Any]


def bad(field: str, message: str) -> ValidationError:
    return ValidationError({field: message}, f"Invalid FHIR resource: {field}: {message}")


# -- validation ------------------------------------------------------------------------------


def validate(resource: Json) -> Json:
    """Check ``resource`` against the R4B model of its type; raise the domain ValidationError."""
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str):
        raise bad("resourceType", "missing")
    try:
        model = get_fhir_model_class(rtype)
    except (KeyError, ValueError, AttributeError, ImportError) as e:
        raise bad("resourceType", f"unknown resource type {rtype!r}") from e
    try:
        model.model_validate(resource)
    except PydanticValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or rtype
        raise bad(where, f"{first.get('msg', 'not valid')} ({e.error_count()} problem(s))") from e
    return resource


# -- scalar conversions ----------------------------------------------------------------------


def instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def parse_instant(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise bad(field, "a date-time is required")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as e:
        raise bad(field, f"not a date-time: {value!r}") from e
    if parsed.tzinfo is None:
        raise bad(field, "a date-time needs a time zone")
    return parsed.astimezone(UTC)


def opt_instant(value: Any, field: str) -> datetime | None:
    return None if value is None else parse_instant(value, field)


def day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def parse_day(value: Any, field: str) -> date:
    if not isinstance(value, str):
        raise bad(field, "a date is required")
    try:
        return date.fromisoformat(value[:10])
    except ValueError as e:
        raise bad(field, f"not a date: {value!r}") from e


def opt_day(value: Any, field: str) -> date | None:
    return None if value is None else parse_day(value, field)


def clock(value: time) -> str:
    return value.isoformat()


def parse_clock(value: Any, field: str) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError as e:
        raise bad(field, f"not a time: {value!r}") from e


def dec(value: Any, field: str) -> Decimal:
    if isinstance(value, bool):
        raise bad(field, "a number is required")
    if isinstance(value, float):
        value = repr(value)  # a parser that gave floats: take the shortest exact text
    try:
        out = Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as e:
        raise bad(field, f"not a number: {value!r}") from e
    if not out.is_finite():
        raise bad(field, "not a finite number")
    return out


def opt_dec(value: Any, field: str) -> Decimal | None:
    return None if value is None else dec(value, field)


def money(minor: int, currency: str) -> Json:
    return {"value": Decimal(minor).scaleb(-exponent(currency)), "currency": currency}


def money_minor(value: Any, field: str, currency: str | None = None) -> int:
    """A FHIR Money back to integer minor units; refuses fractions of a minor unit."""
    if not isinstance(value, dict) or "value" not in value:
        raise bad(field, "a Money with a value is required")
    cur = str(value.get("currency") or currency or "")
    if not cur:
        raise bad(field, "a currency is required")
    minor = dec(value["value"], field).scaleb(exponent(cur))
    if minor != minor.to_integral_value():
        raise bad(field, f"more decimals than {cur} allows")
    return int(minor)


def div(text: str) -> str:
    return f'<div xmlns="{XHTML_NS}">{html.escape(text, quote=False)}</div>'


_DIV = re.compile(r"^<div[^>]*>(.*)</div>$", re.S)


def undiv(value: str) -> str:
    m = _DIV.match(value)
    return html.unescape(m.group(1) if m else value)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(value: Any, field: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except ValueError as e:
        raise bad(field, "not base64") from e


# -- references ------------------------------------------------------------------------------


def ref(rtype: str, rid: str | None) -> Json | None:
    return None if rid is None else {"reference": f"{rtype}/{rid}"}


def unref(value: Any, field: str, rtype: str | None = None) -> str | None:
    """The id of a literal reference ``Type/id`` (None when absent)."""
    if value is None:
        return None
    text = value.get("reference") if isinstance(value, dict) else None
    if not isinstance(text, str) or "/" not in text:
        raise bad(field, "a reference like Type/id is required")
    kind, _, rid = text.rpartition("/")
    kind = kind.rsplit("/", 1)[-1]
    if rtype is not None and kind != rtype:
        raise bad(field, f"must reference a {rtype}, not {kind}")
    return rid


def req_ref(value: Any, field: str, rtype: str) -> str:
    rid = unref(value, field, rtype)
    if rid is None:
        raise bad(field, f"a reference to a {rtype} is required")
    return rid


# -- extensions ------------------------------------------------------------------------------

_VALUE_KEYS = (
    "valueString",
    "valueBoolean",
    "valueInteger",
    "valueDecimal",
    "valueDateTime",
    "valueDate",
    "valueTime",
    "valueCode",
    "valueReference",
    "valueBase64Binary",
    "valueMoney",
    "valueInstant",
)


def ext(name: str, value: Any, kind: str | None = None) -> Json | None:
    """One extension ``EXT+name`` for a Python value (None: no extension at all)."""
    if value is None:
        return None
    if kind is None:
        if isinstance(value, bool):
            kind = "Boolean"
        elif isinstance(value, int):
            kind = "Integer"
        elif isinstance(value, Decimal):
            kind = "Decimal"
        elif isinstance(value, datetime):
            kind, value = "DateTime", instant(value)
        elif isinstance(value, date):
            kind, value = "Date", value.isoformat()
        elif isinstance(value, time):
            kind, value = "Time", value.isoformat()
        elif isinstance(value, dict):
            kind = "Reference"
        else:
            kind = "String"
    return {"url": EXT + name, f"value{kind}": value}


def exts(*items: Json | None) -> list[Json]:
    return [i for i in items if i is not None]


def get_ext(element: Json, name: str) -> Any:
    """The raw value of extension ``name`` on ``element`` (None when absent)."""
    for item in element.get("extension") or ():
        if item.get("url") == EXT + name:
            for key in _VALUE_KEYS:
                if key in item:
                    return item[key]
    return None


def ext_ref(element: Json, name: str, rtype: str) -> str | None:
    return unref(get_ext(element, name), name, rtype)


def clean(data: Json) -> Json:
    """Drop keys whose value is None or an empty list (FHIR forbids empty elements)."""
    return {k: v for k, v in data.items() if v is not None and v != [] and v != {}}


def coding(system: str | None, code: str | None, display: str | None = None) -> Json:
    return clean({"system": system, "code": code, "display": display})


def concept(
    system: str | None, code: str | None, display: str | None = None, text: str | None = None
) -> Json:
    return clean(
        {"coding": [coding(system, code, display)] if code or system else None, "text": text}
    )


def first_code(value: Any, system: str | None = None) -> str | None:
    """The first code of a CodeableConcept (optionally of one system)."""
    if not isinstance(value, dict):
        return None
    for c in value.get("coding") or ():
        if system is None or c.get("system") == system:
            code: str | None = c.get("code")
            return code
    return None


def is_ours(resource: Json) -> bool:
    """Written by this mapping (tagged with its local table): its extensions are complete."""
    return any(
        t.get("system") == TABLE_TAG_SYSTEM for t in (resource.get("meta") or {}).get("tag") or ()
    )


def texts(items: Iterable[Json] | None) -> list[str]:
    return [str(i["text"]) for i in items or () if i.get("text") is not None]
