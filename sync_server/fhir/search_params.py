"""The search parameters the server supports, and how each is extracted from a resource.

One table (``PARAMS``) drives three things: the index rows written with each version, the query
parser, and the CapabilityStatement. Kinds: ``string`` (prefix match on a case- and
accent-folded value), ``token`` (``[system|]code``), ``reference`` (``Type/id``) and ``date``
(a UTC range). Pure functions: no I/O.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, NamedTuple

from sync_server.fhir.dates import HIGHEST, LOWEST, date_range


@dataclass(frozen=True)
class Param:
    kind: str
    paths: tuple[str, ...]
    target: str | None = None  # reference params: the only type they point at
    where: tuple[str, str] | None = None  # keep only elements with this (key, value)
    # String params: another param of the type that indexes the same paths. Such a param has
    # no rows of its own: it matches that param's rows whose ``aux`` is one of its paths
    # (``family`` is ``name``'s rows made from ``name.family``), so each name part is written
    # once, not twice. Rows a server made before (the param's own) still match.
    within: str | None = None


class IndexRow(NamedTuple):
    """One index row (a tuple: several times cheaper to make than a frozen dataclass)."""

    param: str
    text: str | None = None
    aux: str | None = None
    low: str | None = None
    high: str | None = None


def _p(kind: str, *paths: str, target: str | None = None,
       where: tuple[str, str] | None = None, within: str | None = None) -> Param:
    return Param(kind, paths, target, where, within)


_SUBJECT = {"patient": _p("reference", "subject", target="Patient"),
            "subject": _p("reference", "subject"),
            "encounter": _p("reference", "encounter", target="Encounter"),
            "status": _p("token", "status")}

PARAMS: dict[str, dict[str, Param]] = {
    "Patient": {
        "name": _p("string", "name.family", "name.given", "name.text", "name.prefix",
                   "name.suffix"),
        "family": _p("string", "name.family", within="name"),
        "given": _p("string", "name.given", within="name"),
        "birthdate": _p("date", "birthDate"),
        "identifier": _p("token", "identifier"),
        "phone": _p("token", "telecom", where=("system", "phone")),
        "email": _p("token", "telecom", where=("system", "email")),
        "gender": _p("token", "gender"),
    },
    "Practitioner": {
        "name": _p("string", "name.family", "name.given", "name.text"),
        "identifier": _p("token", "identifier"),
    },
    "Appointment": {
        "date": _p("date", "start"),
        "patient": _p("reference", "participant.actor", target="Patient"),
        "practitioner": _p("reference", "participant.actor", target="Practitioner"),
        "actor": _p("reference", "participant.actor"),
        "status": _p("token", "status"),
    },
    "Encounter": {
        **_SUBJECT,
        "date": _p("date", "period"),
        "practitioner": _p("reference", "participant.individual", target="Practitioner"),
        "class": _p("token", "class"),
        "encounter": _p("reference", "partOf", target="Encounter"),
    },
    "Observation": {
        **_SUBJECT,
        "code": _p("token", "code"),
        "category": _p("token", "category"),
        "date": _p("date", "effectiveDateTime", "effectivePeriod", "effectiveInstant"),
    },
    "DiagnosticReport": {
        **_SUBJECT,
        "code": _p("token", "code"),
        "category": _p("token", "category"),
        "date": _p("date", "effectiveDateTime", "effectivePeriod"),
        "result": _p("reference", "result", target="Observation"),
    },
    "Invoice": {
        "patient": _p("reference", "subject", target="Patient"),
        "subject": _p("reference", "subject"),
        "status": _p("token", "status"),
        "date": _p("date", "date"),
        "identifier": _p("token", "identifier"),
    },
    "AuditEvent": {
        "date": _p("date", "recorded"),
        "patient": _p("reference", "entity.what", target="Patient"),
        "entity": _p("reference", "entity.what"),
        "agent": _p("reference", "agent.who"),
        "source": _p("reference", "source.observer"),
        "action": _p("token", "action"),
        "type": _p("token", "type"),
    },
}

_PHONE_NOISE = re.compile(r"[\s\-().]")


def fold(text: str) -> str:
    """Case- and accent-insensitive form used for string search."""
    if text.isascii():  # NFKD leaves ASCII as it is, and none of it is a combining mark
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def normalise_phone(value: str) -> str:
    return _PHONE_NOISE.sub("", value)


def _flatten(value: Any, out: list[Any]) -> None:
    if isinstance(value, list):
        for item in value:
            _flatten(item, out)
    else:
        out.append(value)


def _walk(node: Any, parts: tuple[str, ...]) -> list[Any]:
    """The values at a dotted path, lists at any level flattened, in document order."""
    nodes: list[Any] = []
    _flatten(node, nodes)
    for part in parts:
        found: list[Any] = []
        for item in nodes:
            if isinstance(item, dict) and part in item:
                value = item[part]
                if isinstance(value, list):  # most values are not: no call for them
                    _flatten(value, found)
                else:
                    found.append(value)
        if not found:
            return found
        nodes = found
    return nodes


def reference_key(reference: str) -> str | None:
    """``Type/id`` of a literal reference (relative, absolute or versioned), else None."""
    parts = [p for p in reference.split("/") if p]
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) < 2 or not parts[-2][:1].isupper():
        return None
    return f"{parts[-2]}/{parts[-1]}"


def extract(resource: dict[str, Any]) -> list[IndexRow]:
    """Every index row of a resource, for the params of its type (in ``PARAMS``' order: each
    param's paths in turn). A path that several params share (``name.family`` for ``name``
    and ``family``) is walked once, and a string value folded once."""
    rows: list[IndexRow] = []
    walked: dict[str, list[Any]] = {}
    folded: dict[str, str] = {}
    for name, param, path, parts, aux in _PLANS.get(str(resource.get("resourceType")), ()):
        if param.within:
            continue  # its rows are those of ``param.within``
        values = walked.get(path)
        if values is None:
            values = walked[path] = _walk(resource, parts)
        for value in values:
            if param.where and not (isinstance(value, dict)
                                    and value.get(param.where[0]) == param.where[1]):
                continue
            if param.kind == "string":
                if isinstance(value, str):
                    text = folded.get(value)
                    if text is None:
                        text = folded[value] = fold(value)[:500]
                    rows.append(IndexRow(name, text, aux))
                continue
            _rows(name, param, value, rows)
    return rows


def _path_aux(params: dict[str, Param], name: str, path: str) -> str | None:
    """The ``aux`` of a string row: its path when another param matches rows by path."""
    return path if any(p.within == name and path in p.paths for p in params.values()) else None


# Per resource type: (param name, param, path, the path's parts, the rows' ``aux`` for a
# string param) in ``PARAMS``' order.
_PLANS: dict[str, tuple[tuple[str, Param, str, tuple[str, ...], str | None], ...]] = {
    rtype: tuple((name, param, path, tuple(path.split(".")), _path_aux(params, name, path))
                 for name, param in params.items() for path in param.paths)
    for rtype, params in PARAMS.items()}


def _rows(name: str, param: Param, value: Any, rows: list[IndexRow]) -> None:
    """Append the rows of one value of a param to ``rows`` (a list, not a generator: most
    values make one row)."""
    if param.kind == "string" and isinstance(value, str):
        rows.append(IndexRow(name, text=fold(value)[:500]))
    elif param.kind == "token":
        _token_rows(name, value, param.where == ("system", "phone"), rows)
    elif param.kind == "reference" and isinstance(value, dict):
        key = _reference_key(str(value.get("reference", "")))
        if key and (param.target is None or key.startswith(param.target + "/")):
            rows.append(IndexRow(name, text=key[:500], aux=key.split("/", 1)[1][:500]))
    elif param.kind == "date":
        bounds = _date_bounds(value)
        if bounds:
            rows.append(IndexRow(name, low=bounds[0], high=bounds[1]))


def _token_rows(name: str, value: Any, phone: bool, rows: list[IndexRow]) -> None:
    if isinstance(value, str):
        rows.append(IndexRow(name, text=value[:500]))
    elif isinstance(value, dict) and isinstance(value.get("coding"), list):
        for coding in value["coding"]:
            _token_rows(name, coding, phone, rows)
    elif isinstance(value, dict):
        code = value.get("code", value.get("value"))
        if isinstance(code, str):
            system = value.get("system") if "code" in value or not phone else None
            text = normalise_phone(code) if phone else code
            rows.append(IndexRow(name, text=text[:500],
                                 aux=system[:500] if isinstance(system, str) else None))


# The values of a batch repeat (one moment for a page's access-log entries, one reference for
# many resources): each distinct one is worked out once. Both are pure and return immutables.
_range_of = functools.lru_cache(maxsize=4096)(date_range)
_reference_key = functools.lru_cache(maxsize=4096)(reference_key)


def audit_event_rows(event: dict[str, Any]) -> list[IndexRow]:
    """The rows ``extract`` makes, in its order, for an AuditEvent of the shape
    ``audit/audit_event.to_audit_event`` builds (``type`` one Coding, ``action`` and
    ``recorded`` strings, agents known only by display, one ``source.observer`` reference,
    entities whose ``what`` is a reference or a display), read straight from their places
    instead of by walking each parameter's paths (~5x cheaper; every uploaded access-log entry
    is one). Anything else goes to ``extract``."""
    refs = [what["reference"] for entity in event["entity"]
            if "reference" in (what := entity["what"])]
    keys = [_reference_key(ref) for ref in refs]
    rows: list[IndexRow] = []
    bounds = _range_of(event["recorded"])
    if bounds:
        rows.append(IndexRow("date", None, None, bounds[0], bounds[1]))
    for key in keys:
        if key and key.startswith("Patient/"):
            rows.append(IndexRow("patient", key[:500], key.split("/", 1)[1][:500]))
    for key in keys:
        if key:
            rows.append(IndexRow("entity", key[:500], key.split("/", 1)[1][:500]))
    for agent in event["agent"]:
        if "reference" in agent["who"]:
            return extract(event)
    key = _reference_key(str(event["source"]["observer"].get("reference", "")))
    if key:
        rows.append(IndexRow("source", key[:500], key.split("/", 1)[1][:500]))
    rows.append(IndexRow("action", event["action"][:500]))
    kind = event["type"]
    system = kind.get("system")
    rows.append(IndexRow("type", kind["code"][:500],
                         system[:500] if isinstance(system, str) else None))
    return rows


def _date_bounds(value: Any) -> tuple[str, str] | None:
    if isinstance(value, str):
        return _range_of(value)
    if isinstance(value, dict) and ("start" in value or "end" in value):
        start = date_range(str(value["start"])) if "start" in value else None
        end = date_range(str(value["end"])) if "end" in value else None
        return (start[0] if start else LOWEST, end[1] if end else HIGHEST)
    return None
