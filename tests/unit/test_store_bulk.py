"""Rows inserted through the driver's executemany (the pull's new records) are stored exactly as
SQLAlchemy's own insert stores them, defaults included, and a clash is SQLAlchemy's error; rows
updated by id (the pull's newer versions) as its update stores them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Table, insert, text, update
from sqlalchemy.exc import IntegrityError

from pms_desktop.context import AppContext
from pms_desktop.store.bulk import insert_rows, update_rows
from pms_desktop.store.models import Base, Patient


def _stored(ctx: AppContext, table: str, ids: list[str]) -> list[tuple[Any, ...]]:
    names = ", ".join(c.name for c in Base.metadata.tables[table].c if c.name != "id")
    with ctx.db.engine.connect() as conn:  # as the file holds them: no type processing
        marks = ",".join("?" * len(ids))
        rows = conn.exec_driver_sql(f"SELECT {names} FROM {table} WHERE id IN ({marks}) "
                                    "ORDER BY id", tuple(ids)).all()
    return [tuple(r) for r in rows]


def _clinic(ctx: AppContext) -> str:
    with ctx.db.engine.connect() as conn:
        return str(conn.exec_driver_sql("SELECT id FROM clinic LIMIT 1").scalar_one())


def _pair(table: Table, make: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return [make(f"a{n}") for n in range(3)], [make(f"b{n}") for n in range(3)]


def test_the_same_rows_are_stored_as_sqlalchemy_stores_them(ctx: AppContext) -> None:
    patient = Base.metadata.tables["patient"]
    when = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5)))
    clinic = _clinic(ctx)

    def make(rid: str) -> dict[str, Any]:  # dates, an aware time, booleans; defaults left out
        return {"id": rid, "clinic_id": clinic, "given": "Áine", "family": "Ó Briain",
                "birth_date": date(1990, 1, 2), "sex": "female", "active": True,
                "local_revision": 1, "updated_at": when}

    core, bulk = _pair(patient, make)
    with ctx.db.sessions()() as s, s.begin():
        s.execute(insert(patient), core)
        insert_rows(s, patient, bulk)
    assert _stored(ctx, "patient", [r["id"] for r in core]) == \
        _stored(ctx, "patient", [r["id"] for r in bulk])


def test_decimals_and_callable_defaults_match_too(ctx: AppContext) -> None:
    fee = Base.metadata.tables["fee_item"]
    now = datetime.now(UTC)
    clinic = _clinic(ctx)

    def make(rid: str) -> dict[str, Any]:  # no updated_at: each row gets utcnow(), as in Core
        return {"id": rid, "clinic_id": clinic, "code": f"C-{rid}",
                "description": "Consultation", "price_minor": 6510,
                "tax_rate": Decimal("0.135"), "local_revision": 1}  # active: its default

    core, bulk = _pair(fee, make)
    with ctx.db.sessions()() as s, s.begin():
        s.execute(insert(fee), core)
        insert_rows(s, fee, bulk)
    a, b = _stored(ctx, "fee_item", [r["id"] for r in core]), \
        _stored(ctx, "fee_item", [r["id"] for r in bulk])
    columns = [c.name for c in fee.c if c.name != "id"]
    stamp = columns.index("updated_at")
    strip = [tuple(v for i, v in enumerate(r) if i != stamp and columns[i] != "code") for r in a]
    assert strip == [tuple(v for i, v in enumerate(r) if i != stamp and columns[i] != "code")
                     for r in b]
    assert all(datetime.fromisoformat(str(r[stamp])).replace(tzinfo=UTC) >= now.replace(
        microsecond=0) - timedelta(seconds=1) for r in b)  # the default ran, as UTC text


def test_a_clash_is_sqlalchemys_integrity_error(ctx: AppContext) -> None:
    fee = Base.metadata.tables["fee_item"]
    row = {"id": "x1", "clinic_id": _clinic(ctx), "code": "DUP", "description": "d",
           "price_minor": 100, "tax_rate": Decimal("0"), "active": True, "local_revision": 1}
    with pytest.raises(IntegrityError), ctx.db.sessions()() as s, s.begin():
        insert_rows(s, fee, [row, {**row, "id": "x2"}])
    assert _stored(ctx, "fee_item", ["x1", "x2"]) == []  # the transaction rolled back whole


def test_a_table_with_triggers_takes_many_rows_a_statement_and_each_row_fires(
        ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """Patients (whose triggers keep the search index) go in multi-row statements: stored as
    Core stores them, and every one indexed; an identifier clash is still the error."""
    from pms_desktop.store import bulk

    monkeypatch.setattr(bulk, "ROWS_PER_STATEMENT", 2)  # five rows: statements of 2, 2, 1
    patient = Base.metadata.tables["patient"]
    clinic = _clinic(ctx)
    when = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)

    def make(rid: str, n: int) -> dict[str, Any]:
        return {"id": rid, "clinic_id": clinic, "given": f"Gráinne{n}x", "family": "Mhic Aoidh",
                "birth_date": date(1980, 1, 2), "sex": "female", "active": True,
                "middle": None, "local_revision": 1, "updated_at": when}

    core = [make(f"c{n}", n) for n in range(5)]
    rows = [make(f"m{n}", n) for n in range(5)]
    with ctx.db.sessions()() as s, s.begin():
        s.execute(insert(patient), core)
        insert_rows(s, patient, rows)
    assert _stored(ctx, "patient", [r["id"] for r in core]) == \
        _stored(ctx, "patient", [r["id"] for r in rows])
    with ctx.db.engine.connect() as conn:
        for n in range(5):
            hits = conn.exec_driver_sql(
                "SELECT k.patient_id FROM patient_search s JOIN patient_search_key k"
                f" ON k.k = s.rowid WHERE patient_search MATCH 'gráinne{n}x*'").scalars().all()
            assert sorted(hits) == [f"c{n}", f"m{n}"]
    identifier = Base.metadata.tables["patient_identifier"]
    ident = {"patient_id": "m0", "system": "urn:clinic:mrn", "label": "MRN", "value": "B-7",
             "rank": 0}
    with pytest.raises(IntegrityError), ctx.db.sessions()() as s, s.begin():
        insert_rows(s, identifier, [{**ident, "id": "i1"}, {**ident, "id": "i2"},
                                    {**ident, "id": "i3", "value": "B-8"}])


def test_rows_updated_by_id_are_stored_as_sqlalchemy_updates_them(ctx: AppContext) -> None:
    """``update_rows`` sets the columns given, converted as Core converts them (an aware
    time, a date, a boolean), and keeps the others (the local revision, the city); a row given
    its stored values again has only what changed written (its version)."""
    patient = Base.metadata.tables["patient"]
    clinic = _clinic(ctx)
    when = datetime(2026, 4, 2, 17, 5, 0, 250000, tzinfo=timezone(timedelta(hours=2)))
    core, bulk = _pair(patient, lambda rid: {
        "id": rid, "clinic_id": clinic, "given": "Áine", "family": "Ó Briain",
        "birth_date": date(1990, 1, 2), "sex": "female", "active": True, "city": "Tralee",
        "local_revision": 4, "updated_at": datetime.now(UTC)})
    change = {"family": "Mac Giolla", "birth_date": date(1991, 2, 3), "active": False,
              "updated_at": when, "server_version": 7}
    same = {k: core[0][k] for k in ("family", "birth_date", "active", "updated_at")}
    with ctx.db.sessions()() as s, s.begin():
        s.execute(insert(patient), core + bulk)
        s.execute(text("CREATE TEMP TABLE family_set (id TEXT)"))  # what an index trigger sees
        s.execute(text("CREATE TEMP TRIGGER family_set AFTER UPDATE OF family ON patient"
                       " BEGIN INSERT INTO family_set VALUES (new.id); END"))
        for row in core:  # the first: its values again, but for its version
            s.execute(update(patient).where(patient.c.id == row["id"]).values(
                {**change, **same} if row is core[0] else change))
        update_rows(s, patient, [{"id": row["id"], **change, **(same if row is bulk[0] else {})}
                                 for row in bulk])
        fired = set(s.scalars(text("SELECT id FROM family_set")))
    assert fired == {r["id"] for r in core + bulk[1:]}  # Core's sets it again, unchanged
    stored = _stored(ctx, "patient", [r["id"] for r in bulk])
    assert stored == _stored(ctx, "patient", [r["id"] for r in core])
    with ctx.db.sessions()() as s:
        held = s.get(Patient, bulk[1]["id"])
        assert (held.family, held.city, held.local_revision, held.active, held.updated_at) == (
            "Mac Giolla", "Tralee", 4, False, when)
