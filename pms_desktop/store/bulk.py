"""Many rows of one table inserted (or updated by id) through the driver's own ``executemany``,
in the session's transaction.

SQLAlchemy's Core insert converts every parameter of every row through its compiled statement
(a few microseconds a value), which cost more than SQLite's own work for a pulled page of new
records. ``insert_rows`` does the same conversions with the same objects: each column's bind
processor for this dialect (``UtcDateTime`` to UTC text, ``Date``, ``Boolean``, decimals as
text...), and the column's Python-side default for a column the rows leave out, exactly as
Core's insert would; then one ``executemany`` of the plain statement. A driver error is raised
as SQLAlchemy raises it (``sqlalchemy.exc.IntegrityError``...).

``update_rows`` updates rows by id the same way. Both write the store around the session: the
caller expires what the session holds of rows it updates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, bindparam, exc, insert, update
from sqlalchemy.orm import Session

Processor = Callable[[Any], Any] | None
Plan = tuple[str, list[str], list[Processor], list[tuple[str, Any]]]
_PLANS: dict[tuple[str, int, frozenset[str]], Plan | None] = {}


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts keyed by column key; the same keys in every row) into
    ``table``. Not on SQLite (the application's store always is): Core's insert."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "sqlite":
        session.execute(insert(table), list(rows))
        return
    keys = frozenset(rows[0])
    plan_key = (table.name, id(dialect), keys)
    if plan_key not in _PLANS:
        _PLANS[plan_key] = _plan(table, dialect, keys)
    plan = _PLANS[plan_key]
    if plan is None:  # a default only Core's insert knows how to make
        session.execute(insert(table), list(rows))
        return
    sql, names, processors, defaults = plan
    values = _converted(rows, names, processors, defaults)
    session.flush()  # rows added through the ORM before these may be their parents
    raw: Any = connection.connection.driver_connection
    try:
        if _has_triggers(connection.info, raw, table.name):
            _insert_in_statements(raw, sql, values)
        else:
            raw.executemany(sql, values)
    except dialect.loaded_dbapi.Error as e:  # raised as SQLAlchemy raises it (IntegrityError...)
        raise exc.DBAPIError.instance(sql, None, e, dialect.loaded_dbapi.Error,
                                      dialect=dialect) from e


def update_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Update rows of ``table`` by id: each of ``rows`` (dicts keyed by column key, the same
    keys in every row, ``id`` among them) sets the columns it gives; the others are kept.
    The values are converted as ``insert_rows`` converts them. Only the columns whose stored
    value changes are written (as the ORM writes only changed attributes): an unchanged name
    rewrites no index entry and fires no trigger (the patient search index's). Not on SQLite:
    Core's update of every column given."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    keys = frozenset(rows[0])
    set_keys = sorted(keys - {"id"})
    if not set_keys:
        return
    if dialect.name != "sqlite":
        statement = update(table).where(table.c.id == bindparam("_id")).values(
            {k: bindparam(k) for k in set_keys})
        session.execute(statement, [{**{k: r[k] for k in set_keys}, "_id": r["id"]}
                                    for r in rows])
        return
    unknown = keys - {c.key for c in table.c}
    if unknown:
        raise KeyError(f"{table.name} has no column {sorted(unknown)}")
    processors: list[Processor] = [table.c[n].type.dialect_impl(dialect).bind_processor(dialect)
                  for n in set_keys]
    values = list(zip((row["id"] for row in rows),
                      _converted(rows, set_keys, processors, []), strict=True))
    session.flush()  # the ORM's pending writes first: these rows are written after them
    raw: Any = connection.connection.driver_connection
    quote = dialect.identifier_preparer.quote
    names = [quote(table.c[k].name) for k in set_keys]
    stored: dict[Any, tuple[Any, ...]] = {}
    ids = [rid for rid, _ in values]
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for held in raw.execute(
                f"SELECT {quote(table.c.id.name)}, {', '.join(names)} FROM {quote(table.name)}"
                f" WHERE {quote(table.c.id.name)} IN ({', '.join('?' * len(chunk))})", chunk):
            stored[held[0]] = held[1:]
    changed: dict[tuple[int, ...], list[list[Any]]] = {}  # columns changed -> their rows
    for rid, value in values:
        old = stored.get(rid)
        which = tuple(range(len(value))) if old is None else tuple(
            i for i, (new, was) in enumerate(zip(value, old, strict=True))
            if new != was or type(new) is not type(was))
        if which:
            changed.setdefault(which, []).append([*(value[i] for i in which), rid])
    for which, params in changed.items():
        sql = (f"UPDATE {quote(table.name)} SET {', '.join(f'{names[i]} = ?' for i in which)}"
               f" WHERE {quote(table.c.id.name)} = ?")
        try:
            raw.executemany(sql, params)
        except dialect.loaded_dbapi.Error as e:
            raise exc.DBAPIError.instance(sql, None, e, dialect.loaded_dbapi.Error,
                                          dialect=dialect) from e


def _converted(rows: Sequence[dict[str, Any]], names: list[str], processors: list[Processor],
               defaults: list[tuple[str, Any]]) -> list[list[Any]]:
    """Each row's values of ``names`` as the driver takes them (defaults filled in first).
    The row's values at once (one C call), then only the columns that have a processor
    converted: a value-by-value loop cost more than SQLite's insert of the row."""
    get = itemgetter(*names) if len(names) > 1 else (lambda r, n=names[0]: (r[n],))
    convert = [(i, p) for i, p in enumerate(processors) if p is not None]
    values: list[list[Any]] = []
    for row in rows:
        if defaults:
            row = {**row, **{k: (d() if callable(d) else d) for k, d in defaults}}
        value = list(get(row))
        for i, p in convert:
            value[i] = p(value[i])
        values.append(value)
    return values


def _has_triggers(info: dict[Any, Any], raw: Any, table: str) -> bool:
    """Whether ``table`` has triggers, read once per database connection (``info``: its
    SQLAlchemy info; reading the schema cost ~0.1 ms a call, a few thousand calls a first pull).
    It only decides how the rows are sent (``_insert_in_statements`` or one ``executemany``),
    not what is stored: a trigger made later on the connection fires either way."""
    known: dict[str, bool] = info.setdefault(_TRIGGERS, {})
    found = known.get(table)
    if found is None:
        found = known[table] = raw.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? LIMIT 1",
            (table,)).fetchone() is not None
    return found


_TRIGGERS = "pms.bulk.tables_with_triggers"


def _insert_in_statements(raw: Any, sql: str, values: list[list[Any]]) -> None:
    """The rows as multi-row inserts of up to ``ROWS_PER_STATEMENT``. An insert into a table
    with triggers keeps a statement journal (to undo the statement alone if a trigger fails):
    every page the statement changes is copied into it once, so one statement a row copied
    each row's pages again (4 % of a first pull); the triggers run for every row as before."""
    head, _, one = sql.partition(" VALUES ")
    width = max(1, len(values[0]))
    per = max(1, min(ROWS_PER_STATEMENT, MAX_VARIABLES // width))
    for start in range(0, len(values), per):
        chunk = values[start:start + per]
        raw.execute(f"{head} VALUES {', '.join([one] * len(chunk))}",
                    [v for row in chunk for v in row])


ROWS_PER_STATEMENT = 500
MAX_VARIABLES = 32766  # SQLite's limit on a statement's parameters (since 3.32)


def _plan(table: Table, dialect: Any, keys: frozenset[str]) -> Plan | None:
    defaults: list[tuple[str, Any]] = []
    for column in table.c:
        if column.key in keys or column.default is None:
            continue
        default = column.default
        if default.is_scalar:
            defaults.append((column.key, default.arg))  # type: ignore[attr-defined]
        elif default.is_callable:
            fn = default.arg  # type: ignore[attr-defined]  # SQLAlchemy's wrapper: (context)
            defaults.append((column.key, lambda fn=fn: fn(None)))
        else:  # a SQL expression or a sequence
            return None
    names = [c.key for c in table.c if c.key in keys or any(k == c.key for k, _ in defaults)]
    unknown = keys - {c.key for c in table.c}
    if unknown:
        raise KeyError(f"{table.name} has no column {sorted(unknown)}")
    processors: list[Processor] = [
        table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]
    quote = dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(table.c[n].name) for n in names)})"
           f" VALUES ({', '.join('?' * len(names))})")
    return sql, names, processors, defaults
