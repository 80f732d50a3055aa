"""Parse and validate incoming FHIR JSON with the R4B models of ``fhir.resources``.

The validated model is only a check: the store keeps the client's own JSON (with ``meta`` set by
the server) so that what a workstation sent is what it gets back, byte for byte in meaning.
Error messages name the failing element but never echo input values (they may be patient data).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

import orjson
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from sync_server.errors import BadRequest, NotFound
from sync_server.fhir.shapes import ShapeCache

ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
# Types a client may not store: containers, protocol resources and abstract bases.
NOT_STORABLE = frozenset({"Resource", "DomainResource", "Bundle", "OperationOutcome",
                          "CapabilityStatement", "Parameters"})
# Required bindings of the core types (the models check structure, not value sets).
REQUIRED_CODES: dict[tuple[str, str], frozenset[str]] = {
    ("Patient", "gender"): frozenset({"male", "female", "other", "unknown"}),
    ("Practitioner", "gender"): frozenset({"male", "female", "other", "unknown"}),
    ("Appointment", "status"): frozenset({
        "proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow",
        "entered-in-error", "checked-in", "waitlist"}),
    ("Encounter", "status"): frozenset({
        "planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled",
        "entered-in-error", "unknown"}),
    ("Observation", "status"): frozenset({
        "registered", "preliminary", "final", "amended", "corrected", "cancelled",
        "entered-in-error", "unknown"}),
    ("DiagnosticReport", "status"): frozenset({
        "registered", "partial", "preliminary", "final", "amended", "corrected", "appended",
        "cancelled", "entered-in-error", "unknown"}),
    ("Invoice", "status"): frozenset({"draft", "issued", "balanced", "cancelled",
                                      "entered-in-error"}),
}

# The same, by resource type (one look-up a resource, not a pass over the table).
_REQUIRED_BY_TYPE: dict[str, tuple[tuple[str, frozenset[str]], ...]] = {
    rtype: tuple((element, codes) for (of, element), codes in REQUIRED_CODES.items()
                 if of == rtype)
    for rtype, _ in REQUIRED_CODES}

# Resources of a structure validated before are checked by their primitive values only (the
# same decision as the models', several times cheaper: see ``shapes``).
SHAPES = ShapeCache()


@lru_cache(maxsize=256)
def _model(resource_type: str) -> type[Resource] | None:
    if not resource_type.isalpha() or not resource_type[:1].isupper():
        return None
    try:
        cls = get_fhir_model_class(resource_type)
    except (ValueError, KeyError, ImportError, AttributeError):
        return None
    return cls if isinstance(cls, type) and issubclass(cls, Resource) else None


def is_resource_type(name: str) -> bool:
    return _model(name) is not None


def check_storable_type(resource_type: str) -> None:
    """404 for a name that is no R4B resource or one the store does not keep."""
    if _model(resource_type) is None or resource_type in NOT_STORABLE:
        raise NotFound(f"resource type not supported: {resource_type[:64]}")


def check_id(resource_id: str) -> None:
    if not ID_PATTERN.match(resource_id):
        raise BadRequest("invalid resource id (1-64 of A-Z a-z 0-9 - .)", expression="id")


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
# orjson reads an integer beyond 64 bits as a float (it would change what is stored): a body
# with a run of 19 digits or more is read by ``json``, as is anything orjson refuses. Found by
# mapping every digit to "0" and looking for 19 of them (a regular expression took ~2 ms on
# a 150 kB push, twice orjson's whole read).
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
_LONG_DIGITS = b"0" * 19


def _long_digits(raw: bytes) -> bool:
    return _LONG_DIGITS in raw.translate(_DIGITS_AS_ZERO)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes) -> Any:
    """Decode a request body; malformed JSON (NaN, lone surrogates included) is a 400."""
    if not raw.strip():
        raise BadRequest("the request body is empty")
    if not _long_digits(raw):
        try:  # the same result as below for what it accepts, several times faster
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # what it refuses (NaN, a lone surrogate, a BOM...): decided below
    try:
        data = json.loads(raw, parse_constant=_no_constants)
        if _SURROGATE_ESCAPE.search(raw):
            # Paired surrogates are fine; a lone one cannot be stored as UTF-8.
            json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError) as exc:
        raise BadRequest("malformed JSON") from exc
    return data


def validate_resource(data: Any, expected_type: str | None = None) -> dict[str, Any]:
    """Check ``data`` is a valid R4B resource (of ``expected_type`` when given) and return it."""
    if not isinstance(data, dict):
        raise BadRequest("a FHIR resource must be a JSON object")
    resource_type = data.get("resourceType")
    if not isinstance(resource_type, str):
        raise BadRequest("resourceType is missing", expression="resourceType")
    if expected_type is not None and resource_type != expected_type:
        raise BadRequest(f"resourceType must be {expected_type}", expression="resourceType")
    model = _model(resource_type)
    if model is None:
        raise BadRequest("unknown resourceType", expression="resourceType")
    if "id" in data and (not isinstance(data["id"], str) or not ID_PATTERN.match(data["id"])):
        raise BadRequest("invalid resource id", expression=f"{resource_type}.id")
    try:
        SHAPES.validate(model, data, lambda: model.model_validate(data))
    except ValidationError as exc:
        raise BadRequest(_describe(resource_type, exc), expression=resource_type) from exc
    except (ValueError, TypeError, RecursionError) as exc:
        raise BadRequest(f"invalid {resource_type}") from exc
    for element, codes in _REQUIRED_BY_TYPE.get(resource_type, ()):
        if element in data and data[element] not in codes:
            raise BadRequest(f"invalid {resource_type}: {element} is not a code of its value "
                             "set", expression=f"{resource_type}.{element}")
    return data


def _describe(resource_type: str, exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_input=False, include_url=False)[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()))
        message = str(error.get("msg", "invalid")).split("\n")[0][:200]
        parts.append(f"{where}: {message}" if where else message)
    return f"invalid {resource_type}: " + "; ".join(parts)
