"""Public API of the FHIR mapping: local syncable rows <-> FHIR R4 JSON (validated with R4B).

* ``SYNCABLE_TABLES``: every table with ``SyncMixin``.
* ``resource_for(session, table, id, secrets=None)``: the row (with its child rows) as a
  validated resource; ``id`` is the row's UUID, ``meta.versionId`` its server version.
* ``extra_resources_for(...)``: resources a row yields besides its own (a signed note's
  Provenance).
* ``table_for(resource)``: the local table of a resource; every resource we write carries a
  ``meta.tag`` of system ``TABLE_TAG_SYSTEM`` naming it, which separates shared types
  (Basic: staff_user / note_template; Invoice: invoice / credit_note).
* ``apply_resource(session, resource, server_version=..., secrets=None)``: validate, then
  insert or update the row and replace its child rows; the caller owns the transaction.
* ``audit_event_for(entry)``: an access-log entry as an AuditEvent.

Every resource also carries who changed the row last and when (``updated-by``,
``record-updated`` extensions), so that two workstations converge on identical rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, event, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.util import identity_key

from ..domain.errors import NotFound
from ..domain.ids import new_id
from ..store.bulk import insert_rows, update_rows
from ..store.models import RESOURCE_TYPES, Base
from . import (
    mappers_admin,
    mappers_billing,
    mappers_care,
    mappers_notes,
    mappers_patient,
    mappers_workstation,
)
from .audit_event import audit_event_for
from .common import (
    TABLE_TAG_SYSTEM,
    Json,
    bad,
    ext,
    get_ext,
    instant,
    opt_instant,
    validate,
)
from .mapper import Context, Mapper
from .secret_box import ClinicSecretBox

__all__ = [
    "SYNCABLE_TABLES",
    "ClinicSecretBox",
    "apply_resource",
    "insert_new",
    "new_record",
    "audit_event_for",
    "extra_resources_for",
    "mapper_for",
    "resource_for",
    "resources_for",
    "table_for",
    "to_resource",
    "update_held",
]

MAPPERS: dict[str, Mapper] = {
    m.table: m
    for m in (
        *mappers_admin.MAPPERS,
        *mappers_patient.MAPPERS,
        *mappers_care.MAPPERS,
        *mappers_notes.MAPPERS,
        *mappers_billing.MAPPERS,
        *mappers_workstation.MAPPERS,
    )
}
SYNCABLE_TABLES: tuple[str, ...] = tuple(sorted(RESOURCE_TYPES))


def _tables_by_type() -> dict[str, tuple[str, ...]]:
    tables: dict[str, tuple[str, ...]] = {}
    for mapper in MAPPERS.values():
        tables[mapper.resource_type] = (*tables.get(mapper.resource_type, ()), mapper.table)
    return tables


# The tables holding each resource type (``table_for``, asked for every pulled resource: most
# types have one table).
_TABLES_OF = _tables_by_type()
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,36}$")
_COMMON_EXT = ("updated-by", "record-updated")

missing = set(SYNCABLE_TABLES) - set(MAPPERS)
if missing:  # a new syncable table must get a mapper, not be skipped silently
    raise RuntimeError(f"FHIR mappers missing for {sorted(missing)}")


def mapper_for(table_name: str) -> Mapper:
    try:
        return MAPPERS[table_name]
    except KeyError:
        raise bad("table", f"{table_name!r} is not a syncable table") from None


def to_resource(
    session: Session,
    mapper: Mapper,
    row: Any,
    secrets: ClinicSecretBox | None = None,
    *,
    check: bool = True,
) -> Json:
    """The validated resource of an already loaded row (``check=False``: not validated)."""
    body = mapper.to_fhir(Context(session, secrets), row)
    meta: Json = {}
    if row.server_version is not None:
        meta["versionId"] = str(row.server_version)
    if row.updated_at is not None:
        meta["lastUpdated"] = instant(row.updated_at)
    meta.update(body.pop("meta", {}))  # e.g. the vital-signs profile
    meta["tag"] = [{"system": TABLE_TAG_SYSTEM, "code": mapper.table}]
    resource: Json = {"resourceType": mapper.resource_type, "id": row.id, "meta": meta}
    extensions = list(body.pop("extension", []))
    extensions += [
        e
        for e in (ext("updated-by", row.updated_by), ext("record-updated", row.updated_at))
        if e is not None
    ]
    if extensions:
        resource["extension"] = extensions
    resource.update(body)
    return validate(resource) if check else resource


def resource_for(
    session: Session, table_name: str, row_id: str, *, secrets: ClinicSecretBox | None = None
) -> Json:
    mapper = mapper_for(table_name)
    row = session.get(mapper.model, row_id)
    if row is None:
        raise NotFound(f"No {table_name} record {row_id}.")
    return to_resource(session, mapper, row, secrets)


def resources_for(
    session: Session,
    table_name: str,
    row_ids: Sequence[str],
    *,
    secrets: ClinicSecretBox | None = None,
    check: bool = True,
) -> dict[str, Json]:
    """Several rows of one table as resources, by id (missing rows are left out), loaded
    together with their child rows: a few queries per 500 rows instead of several per row.
    ``check=False`` skips the R4B validation, for the sync push: the server validates every
    resource it accepts with the same models, and refuses one that fails."""
    mapper = mapper_for(table_name)
    model = mapper.model
    eager = [selectinload(getattr(model, attr)) for attr, _ in mapper.children]
    out: dict[str, Json] = {}
    ids = list(dict.fromkeys(row_ids))
    held: list[Any] = []  # what mappers look up (a type, the clinic) is read once, not per row

    def hold(_session: Session, instance: Any) -> None:
        held.append(instance)

    event.listen(session, "loaded_as_persistent", hold)
    try:
        for start in range(0, len(ids), 500):
            query = select(model).where(model.id.in_(ids[start : start + 500])).options(*eager)
            for row in session.scalars(query):
                out[row.id] = to_resource(session, mapper, row, secrets, check=check)
    finally:
        event.remove(session, "loaded_as_persistent", hold)
    return out


def extra_resources_for(
    session: Session, table_name: str, row_id: str, *, secrets: ClinicSecretBox | None = None
) -> list[Json]:
    mapper = mapper_for(table_name)
    if mapper.extras is None:
        return []
    row = session.get(mapper.model, row_id)
    if row is None:
        raise NotFound(f"No {table_name} record {row_id}.")
    return [validate(r) for r in mapper.extras(Context(session, secrets), row)]


def table_for(resource: Json) -> str:
    rtype = resource.get("resourceType")
    for tag in (resource.get("meta") or {}).get("tag") or ():
        if tag.get("system") == TABLE_TAG_SYSTEM and tag.get("code") in MAPPERS:
            table = str(tag["code"])
            if MAPPERS[table].resource_type != rtype:
                raise bad("meta.tag", f"{table} records are {MAPPERS[table].resource_type}")
            return table
    if rtype == "Basic":
        kind = ((resource.get("code") or {}).get("coding") or [{}])[0].get("code")
        basic = {"staff-user": "staff_user", "note-template": "note_template"}.get(str(kind))
        if basic:
            return basic
    elif rtype == "Invoice":
        return "credit_note" if get_ext(resource, "credits-invoice") else "invoice"
    else:
        tables = _TABLES_OF.get(rtype, ()) if isinstance(rtype, str) else ()
        if len(tables) == 1:
            return tables[0]
    raise bad("resourceType", f"no local record holds a {rtype} resource")


def apply_resource(
    session: Session,
    resource: Json,
    *,
    server_version: int | None,
    secrets: ClinicSecretBox | None = None,
    check: bool = True,
    flush: bool = True,
) -> tuple[str, str]:
    """``check=False``: not validated against the R4B models (a pulled resource, validated by
    the server); ``flush=False``: left for the caller's next query or commit to write."""
    if not isinstance(resource, dict):
        raise bad("resource", "a JSON object is required")
    if check:
        validate(resource)
    table = table_for(resource)
    mapper = MAPPERS[table]
    rid = resource.get("id")
    if not isinstance(rid, str) or not _ID.match(rid):
        raise bad("id", "an id of at most 36 letters, digits, '-' or '.' is required")
    row = session.get(mapper.model, rid)
    values, children = mapper.from_fhir(Context(session, secrets), resource, row)
    if row is None:
        row = mapper.model(id=rid, local_revision=1)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    for attr, model in mapper.children:
        if children is not None and attr in children:
            _replace_children(row, attr, model, children[attr])
    row.updated_by = get_ext(resource, "updated-by")
    row.updated_at = _updated_at(resource)
    if server_version is not None:
        row.server_version = server_version
    if flush:
        session.flush()
    return table, rid


@dataclass(frozen=True)
class NewRecord:
    """What ``apply_resource`` would write for a resource no local row holds yet, as plain
    rows (the record's, then its child rows'), for ``insert_new``."""

    table: str
    row: dict[str, Any]
    children: tuple[tuple[str, dict[str, Any]], ...]  # (child table, row)


def new_record(
    session: Session,
    resource: Json,
    *,
    server_version: int | None,
    secrets: ClinicSecretBox | None = None,
    held: bool = False,
) -> NewRecord:
    """The rows ``apply_resource`` would add for ``resource`` when no local row has its id,
    without touching the session. Not validated against the R4B models: this is for pulled
    resources, which the server validated when it accepted them (validate once).

    ``held``: a row holds the record already; the rows are what ``apply_resource`` would write
    over it (``update_held``), without ``local_revision``. A mapper that would read a value of
    the held row for that (an appointment's clinic when the resource names none) raises
    ``LookupError``: such a record is applied by ``apply_resource``."""
    if not isinstance(resource, dict):
        raise bad("resource", "a JSON object is required")
    table = table_for(resource)
    mapper = MAPPERS[table]
    rid = resource.get("id")
    if not isinstance(rid, str) or not _ID.match(rid):
        raise bad("id", "an id of at most 36 letters, digits, '-' or '.' is required")
    values, children = mapper.from_fhir(
        Context(session, secrets), resource, _HELD_ROW if held else None)
    columns, child_keys = _shape(mapper)
    row = {columns[k]: v for k, v in values.items() if k in columns}
    row.update(
        id=rid,
        updated_by=get_ext(resource, "updated-by"),
        updated_at=_updated_at(resource),
    )
    if not held:
        row["local_revision"] = 1
    if server_version is not None:
        row["server_version"] = server_version
    kids: list[tuple[str, dict[str, Any]]] = []
    for attr, child_table, parent_key, child_columns in child_keys:
        if children is None or attr not in children:
            continue
        for values_ in children[attr]:
            child = {child_columns.get(k, k): v for k, v in values_.items()
                     if v is not None or k != "id"}
            if "id" not in child:  # (most keep theirs: an element id)
                child["id"] = new_id()
            child[parent_key] = rid
            kids.append((child_table, child))
    return NewRecord(table, row, tuple(kids))


Shape = tuple[dict[str, str], tuple[tuple[str, str, str, dict[str, str]], ...]]
_SHAPES: dict[str, Shape] = {}


def _shape(mapper: Mapper) -> Shape:
    """A mapper's row keys (attribute or column key -> the table's column key: a related
    person's ``relationship_`` is the column ``relationship``), and its child rows' (attribute,
    table, key naming the parent, their keys): asked for every pulled record, read once."""
    shape = _SHAPES.get(mapper.table)
    if shape is None:
        kids = []
        for attr, model in mapper.children:
            ((_, parent_key),) = getattr(mapper.model, attr).property.local_remote_pairs
            kids.append((attr, str(model.__tablename__), str(parent_key.key),
                         _column_keys(model)))
        shape = _SHAPES[mapper.table] = (_column_keys(mapper.model), tuple(kids))
    return shape


def _column_keys(model: type[Any]) -> dict[str, str]:
    keys = {c.key: c.key for c in model.__table__.c}
    for prop in sa_inspect(model).column_attrs:
        column = prop.columns[0]
        if getattr(column, "table", None) is model.__table__:
            keys[prop.key] = column.key
    return keys


def insert_new(session: Session, records: Sequence[NewRecord]) -> None:
    """Insert new records and their child rows with multi-row inserts, parents first (table by
    table in foreign-key order, each table's rows in the order given)."""
    if not records:
        return
    tables = Base.metadata.tables
    groups: dict[tuple[str, frozenset[str]], list[dict[str, Any]]] = {}
    for record in records:  # rows of one table with the same keys go in one executemany
        groups.setdefault((record.table, frozenset(record.row)), []).append(record.row)
    for record in records:
        for child_table, child in record.children:
            groups.setdefault((child_table, frozenset(child)), []).append(child)
    order = {t.name: n for n, t in enumerate(Base.metadata.sorted_tables)}
    session.flush()  # rows added through the ORM before these may be their parents
    for (table, _keys), rows in sorted(groups.items(), key=lambda g: order[g[0][0]]):
        insert_rows(session, tables[table], rows)  # the driver's executemany, same conversions


def update_held(session: Session, records: Sequence[NewRecord]) -> None:
    """Write newer versions of records held here (``new_record(..., held=True)``), as
    ``apply_resource`` would: each record's columns its resource gives are updated (the others,
    ``local_revision`` among them, kept); its child rows are replaced as ``_replace_children``
    replaces them (a row whose id is held is updated in place, a new one added, the rest
    deleted). Statements of many rows (a pulled page); the session's pending writes go first.
    What the session holds of these records is expired. The rows go by table and by the
    columns they change, not in the order given: a unique value moved from one record to
    another within the records given (an identifier) can be refused by the store, and the
    pull then applies that page change by change, in the feed's order."""
    if not records:
        return
    tables = Base.metadata.tables
    groups: dict[tuple[str, frozenset[str]], list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault((record.table, frozenset(record.row)), []).append(record.row)
    for (table, _keys), rows in groups.items():
        update_rows(session, tables[table], rows)
    for record in records:
        _forget(session, MAPPERS[record.table], str(record.row["id"]))
    for table_name in dict.fromkeys(r.table for r in records):
        parents = [str(r.row["id"]) for r in records if r.table == table_name]
        for _attr, child_table, parent_key, _columns in _shape(MAPPERS[table_name])[1]:
            child = tables[child_table]
            rows = [row for r in records if r.table == table_name
                    for name, row in r.children if name == child_table]
            held: set[str] = set()
            for start in range(0, len(parents), 500):
                held.update(session.execute(select(child.c.id).where(
                    child.c[parent_key].in_(parents[start:start + 500]))).scalars())
            gone = sorted(held - {str(row["id"]) for row in rows})
            for start in range(0, len(gone), 500):
                session.execute(delete(child).where(child.c.id.in_(gone[start:start + 500])))
            kept: dict[tuple[bool, frozenset[str]], list[dict[str, Any]]] = {}
            for row in rows:
                kept.setdefault((row["id"] in held, frozenset(row)), []).append(row)
            for (in_place, _keys), group in kept.items():
                if in_place:
                    update_rows(session, child, group)
                else:
                    insert_rows(session, child, group)


def _forget(session: Session, mapper: Mapper, rid: str) -> None:
    """What the session holds of a record written around it: its row expired (read again when
    next used), its loaded child rows let go (some are deleted)."""
    held = session.identity_map.get(identity_key(mapper.model, rid))
    if held is None:
        return
    for attr, _model in mapper.children:
        for child in held.__dict__.get(attr) or ():
            if child in session:
                session.expunge(child)
    session.expire(held)


class _HeldRow:
    """The row ``from_fhir`` gets for a record held here when only the resource is used
    (``new_record(..., held=True)``): reading one of its values raises."""

    def __getattr__(self, name: str) -> Any:
        raise LookupError(f"{name}: the held row is not read here")


_HELD_ROW: Any = _HeldRow()


def _updated_at(resource: Json) -> datetime:
    meta = resource.get("meta") or {}
    return (
        opt_instant(get_ext(resource, "record-updated"), "record-updated")
        or opt_instant(meta.get("lastUpdated"), "meta.lastUpdated")
        or datetime.now(UTC)
    )


def _replace_children(
    row: Any, attr: str, model: type[Any], children: list[dict[str, Any]]
) -> None:
    """Update children in place by id, add new ones, drop the rest (delete-orphan)."""
    old = {c.id: c for c in getattr(row, attr)}
    fresh = []
    for values in children:
        child = old.pop(values.get("id"), None) if values.get("id") else None
        if child is None:
            child = model(**{k: v for k, v in values.items() if v is not None or k != "id"})
        else:
            for name, value in values.items():
                setattr(child, name, value)
        fresh.append(child)
    setattr(row, attr, fresh)
