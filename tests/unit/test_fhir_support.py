"""Helpers for the FHIR mapping tests: a second, empty store to apply resources into, and a
column-by-column snapshot of a row with its child rows (everything but ``local_revision``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, inspect
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from pms_desktop.fhir import json_io
from pms_desktop.fhir.mapping import MAPPERS, apply_resource, resource_for
from pms_desktop.fhir.secret_box import ClinicSecretBox
from pms_desktop.store.models import Base

KEY = bytes(range(32))


def _columns(row: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        c.key: getattr(row, c.key) for c in inspect(type(row)).column_attrs if c.key not in skip
    }


def snapshot(row: Any, table: str) -> dict[str, Any]:
    data = _columns(row, ("local_revision",))
    for attr, _model in MAPPERS[table].children:
        parent_fk = {
            fk.parent.key for fk in _model.__table__.foreign_keys if fk.column.table.name == table
        }
        # Sorted by id: rows of equal rank have no order of their own, here or after a sync.
        data[attr] = sorted(
            (_columns(ch, tuple(parent_fk)) for ch in getattr(row, attr)),
            key=lambda c: str(c["id"]),
        )
    return data


_ENGINES: list[Any] = []


@contextmanager
def empty_store() -> Iterator[Session]:
    """A plain in-memory store with the clinic schema (no foreign keys enforced), emptied
    again afterwards by rolling its one transaction back (schemas are made once)."""
    if not _ENGINES:
        for _ in range(2):
            engine = create_engine("sqlite://", poolclass=StaticPool)
            Base.metadata.create_all(engine)
            _ENGINES.append(engine)
    engine = _ENGINES.pop()
    try:
        with engine.connect() as conn, conn.begin() as tx:
            with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
                yield session
            tx.rollback()
    finally:
        _ENGINES.append(engine)


def round_trip(
    source: Session, table: str, row_id: str, *, secrets: ClinicSecretBox | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(row before, row after local -> FHIR JSON text -> empty store)."""
    model = MAPPERS[table].model
    before = snapshot(source.get(model, row_id), table)
    text = json_io.dumps(resource_for(source, table, row_id, secrets=secrets))
    with empty_store() as target:
        resource = json_io.loads(text)
        got = apply_resource(
            target, resource, server_version=before["server_version"], secrets=secrets
        )
        assert got == (table, row_id)
        target.flush()
        target.expire_all()
        after = snapshot(target.get(model, row_id), table)
    return before, after
