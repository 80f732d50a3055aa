"""Run a parsed FHIR search against the current versions and the search index.

Each criterion becomes an ``EXISTS`` over ``search_index`` (values ORed inside it), criteria are
ANDed, and deleted resources never match. Date comparisons follow FHIR's range semantics on the
stored ``(low, high)`` instants.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, not_, or_, select
from sqlalchemy.orm import Session

from sync_server.fhir.search_params import PARAMS
from sync_server.fhir.search_query import Criterion, SearchQuery
from sync_server.store import sync_only
from sync_server.store.models import ResourceCurrent, SearchIndex
from sync_server.store.resources import Stored, stored_from_row


def search(session: Session, clinic_id: str, resource_type: str,
           query: SearchQuery) -> tuple[int, list[Stored]]:
    """Total matches and the requested page of current versions."""
    where: list[ColumnElement[bool]] = [
        ResourceCurrent.clinic_id == clinic_id, ResourceCurrent.resource_type == resource_type,
        ResourceCurrent.deleted.is_(False)]
    if sync_only.filters_type(resource_type):  # staff accounts are not for FHIR searches
        where.append(sync_only.visible(ResourceCurrent))
    where.extend(_condition(clinic_id, resource_type, c) for c in query.criteria)
    total = session.execute(select(func.count()).select_from(ResourceCurrent)
                            .where(*where)).scalar_one()
    if query.summary_count or query.count == 0:
        return int(total), []
    column = getattr(ResourceCurrent, query.sort[0])
    order = [column.desc() if query.sort[1] else column.asc(), ResourceCurrent.resource_id]
    rows = session.execute(select(ResourceCurrent).where(*where).order_by(*order)
                           .offset(query.offset).limit(query.count))
    return int(total), [stored_from_row(r) for r in rows.scalars()]


def _condition(clinic_id: str, resource_type: str,
               criterion: Criterion) -> ColumnElement[bool]:
    if criterion.kind == "id":
        return ResourceCurrent.resource_id.in_([v[0] for v in criterion.values])
    if criterion.kind == "lastUpdated":
        column = ResourceCurrent.last_updated
        return or_(*(_date_match(column, column, v) for v in criterion.values))
    alternatives = [_value_match(criterion, v) for v in criterion.values]
    return exists().where(
        SearchIndex.clinic_id == clinic_id, SearchIndex.resource_type == resource_type,
        SearchIndex.resource_id == ResourceCurrent.resource_id,
        _rows_of(resource_type, criterion.name), or_(*alternatives))


def _rows_of(resource_type: str, name: str) -> ColumnElement[bool]:
    """The index rows of a param: its own, and for a param ``within`` another (``family``)
    that param's rows made from its paths (``search_params.Param.within``)."""
    param = PARAMS.get(resource_type, {}).get(name)
    if param is None or param.within is None:
        return SearchIndex.param == name
    return or_(SearchIndex.param == name,  # rows written before it had none of its own
               and_(SearchIndex.param == param.within, SearchIndex.aux.in_(param.paths)))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _value_match(criterion: Criterion, value: tuple[Any, ...]) -> ColumnElement[bool]:
    if criterion.kind == "string":
        text = _like_escape(str(value[0]))
        if criterion.modifier == "exact":
            return SearchIndex.text == str(value[0])
        pattern = f"%{text}%" if criterion.modifier == "contains" else f"{text}%"
        return SearchIndex.text.like(pattern, escape="\\")
    if criterion.kind == "reference":
        key, bare = (str(v) if v is not None else None for v in value)
        if key is not None:
            return SearchIndex.text == key
        return SearchIndex.aux == str(bare)
    if criterion.kind == "token":
        return _token_match(*value)
    return _date_match(SearchIndex.low, SearchIndex.high, value)


def _token_match(code: str | None, system: str | None, mode: str) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    if code is not None:
        parts.append(SearchIndex.text == code)
    if mode == "exact":
        parts.append(SearchIndex.aux == system if system is not None else SearchIndex.aux.is_(None))
    return and_(*parts) if parts else false()


def _date_match(low: Any, high: Any, value: tuple[Any, ...]) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = _date_condition(low, high, value)
    return condition


def _date_condition(low: Any, high: Any, value: tuple[Any, ...]) -> Any:
    prefix, p_low, p_high = value
    if prefix in ("eq", "ap"):
        return and_(low >= p_low, high <= p_high)
    if prefix == "ne":
        return not_(and_(low >= p_low, high <= p_high))
    if prefix == "gt":
        return high > p_high
    if prefix == "lt":
        return low < p_low
    if prefix == "ge":
        return high >= p_low
    if prefix == "le":
        return low <= p_high
    if prefix == "sa":
        return low > p_high
    return high < p_low  # eb
