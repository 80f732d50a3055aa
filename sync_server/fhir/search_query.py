"""Parse a FHIR search query string into criteria the store can run.

Repeated parameters are ANDed, comma-separated values ORed. Unknown parameters and malformed
values are a 400 (the server is strict so that a typo never returns everything). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sync_server.errors import BadRequest
from sync_server.fhir.dates import date_range
from sync_server.fhir.search_params import PARAMS, Param, fold, normalise_phone, reference_key

DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
IGNORED = frozenset({"_format", "_pretty", "_elements", "_total"})
SORTS = {"_lastUpdated": ("last_updated", False), "-_lastUpdated": ("last_updated", True),
         "_id": ("resource_id", False), "-_id": ("resource_id", True)}


@dataclass(frozen=True)
class Criterion:
    name: str
    kind: str  # string, token, reference, date, id, lastUpdated
    modifier: str | None
    values: tuple[tuple[str | None, ...], ...]


@dataclass
class SearchQuery:
    criteria: list[Criterion] = field(default_factory=list)
    count: int = 50
    offset: int = 0
    sort: tuple[str, bool] = ("last_updated", True)
    summary_count: bool = False


def parse_search(resource_type: str, pairs: list[tuple[str, str]], *,
                 count_max: int) -> SearchQuery:
    query = SearchQuery(count=min(50, count_max))
    params = PARAMS.get(resource_type, {})
    for raw_name, raw_value in pairs:
        name, _, modifier = raw_name.partition(":")
        if name in IGNORED:
            continue
        if name in ("_count", "_offset"):
            number = _int(raw_name, raw_value)
            if name == "_count":
                query.count = min(number, count_max)
            else:
                query.offset = number
        elif name == "_sort":
            if raw_value not in SORTS:
                raise BadRequest("_sort supports _lastUpdated, -_lastUpdated, _id, -_id")
            query.sort = SORTS[raw_value]
        elif name == "_summary":
            if raw_value != "count":
                raise BadRequest("_summary supports only 'count'")
            query.summary_count = True
        elif name == "_id":
            query.criteria.append(Criterion(name, "id", None, _plain(raw_value)))
        elif name == "_lastUpdated":
            query.criteria.append(Criterion(name, "lastUpdated", None, _dates(raw_value)))
        elif name in params:
            query.criteria.append(_criterion(name, params[name], modifier or None, raw_value))
        else:
            raise BadRequest(f"unknown search parameter for {resource_type}: {raw_name[:64]}")
    return query


def _int(name: str, value: str) -> int:
    if not value.isdigit() or len(value) > 9:
        raise BadRequest(f"{name} must be a non-negative integer")
    return int(value)


def _split(raw: str) -> list[str]:
    values = [v.replace("\\,", ",") for v in _split_unescaped(raw)]
    if not values or any(v == "" for v in values):
        raise BadRequest("empty search value")
    return values


def _split_unescaped(raw: str) -> list[str]:
    out, current, escaped = [], "", False
    for char in raw:
        if char == "," and not escaped:
            out.append(current)
            current = ""
        else:
            current += char
        escaped = char == "\\" and not escaped
    out.append(current)
    return out


def _plain(raw: str) -> tuple[tuple[str | None, ...], ...]:
    return tuple((v,) for v in _split(raw))


def _dates(raw: str) -> tuple[tuple[str | None, ...], ...]:
    out = []
    for value in _split(raw):
        prefix = value[:2] if value[:2] in DATE_PREFIXES else "eq"
        text = value[2:] if value[:2] in DATE_PREFIXES else value
        bounds = date_range(text)
        if bounds is None:
            raise BadRequest("invalid date in search")
        out.append((prefix, bounds[0], bounds[1]))
    return tuple(out)


def _criterion(name: str, param: Param, modifier: str | None, raw: str) -> Criterion:
    if param.kind == "date":
        if modifier:
            raise BadRequest(f"modifier not supported on {name}")
        return Criterion(name, "date", None, _dates(raw))
    if param.kind == "string":
        if modifier not in (None, "exact", "contains"):
            raise BadRequest(f"modifier not supported on {name}")
        return Criterion(name, "string", modifier, tuple((fold(v),) for v in _split(raw)))
    if param.kind == "reference":
        if modifier is not None and not (modifier[:1].isupper() and modifier.isalpha()):
            raise BadRequest(f"modifier not supported on {name}")
        return Criterion(name, "reference", None,
                         tuple(_reference(v, modifier or param.target) for v in _split(raw)))
    if modifier is not None:
        raise BadRequest(f"modifier not supported on {name}")
    phone = param.where == ("system", "phone")
    return Criterion(name, "token", None, tuple(_token(v, phone) for v in _split(raw)))


def _reference(value: str, target: str | None) -> tuple[str | None, ...]:
    if "/" in value:
        key = reference_key(value)
        if key is None:
            raise BadRequest("invalid reference in search")
        return (key, None)
    return (f"{target}/{value}", None) if target else (None, value)


def _token(value: str, phone: bool) -> tuple[str | None, ...]:
    if "|" not in value:
        return (normalise_phone(value) if phone else value, None, "any")
    system, _, code = value.partition("|")
    return (code or None, system or None, "exact")
