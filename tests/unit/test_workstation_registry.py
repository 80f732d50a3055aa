"""This workstation's record: made for a joined workstation with a series code no other holds,
queued by the upgrade of a database older than workstation sync, and drawn again after a clash
only while its series has numbered nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from pms_desktop.domain.enums import OutboxStatus
from pms_desktop.services import workstation_registry as registry
from pms_desktop.services.workstation_registry import WorkstationRegistry
from pms_desktop.store import migrate
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.engine import open_engine
from pms_desktop.store.keys import KeyStore, new_database_key, new_keyinfo, new_recovery_secret
from pms_desktop.store.models import (
    Clinic,
    Invoice,
    NumberSeries,
    OutboxChange,
    Workstation,
)
from pms_desktop.sync import sync_state as st

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def _as_joined(ctx: Any) -> str:
    """The template's workstation becomes another one's record (as after a first pull)."""
    with ctx.db.sessions()() as s, s.begin():
        ws = s.scalars(select(Workstation)).one()
        ws.is_local = False
        return ws.series_code


def _queued(ctx: Any) -> list[str]:
    with ctx.db.sessions()() as s:
        return list(s.scalars(select(OutboxChange.resource_id).where(
            OutboxChange.table_name == "workstation",
            OutboxChange.status == OutboxStatus.PENDING)))


def test_a_joined_workstation_gets_a_code_no_one_holds(ctx, make_patient, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    other = _as_joined(ctx)
    patient_id = make_patient()
    with ctx.db.sessions()() as s, s.begin():  # numbered by a workstation not known here yet
        clinic_id = s.scalars(select(Clinic.id)).one()
        s.add(Invoice(clinic_id=clinic_id, number="INV-Q9Z2-000004", patient_id=patient_id,
                      status="issued", currency="EUR", created_at=NOW, issued_at=NOW))
        st.put(s, registry.NAME, "Consulting room 2")
    draws = iter([other, "Q9Z2", "K4M7"])
    monkeypatch.setattr(registry, "new_series_code", lambda: next(draws))
    reg = WorkstationRegistry(ctx.core)
    assert reg.after_pull()
    with ctx.db.sessions()() as s:
        mine = s.scalars(select(Workstation).where(Workstation.is_local.is_(True))).one()
        kinds = set(s.scalars(select(NumberSeries.kind).where(NumberSeries.series_code == "K4M7")))
    assert (mine.series_code, mine.name) == ("K4M7", "Consulting room 2")
    assert kinds == {"invoice", "credit_note", "receipt"}
    assert ctx.core.workstation_id == mine.id and mine.id in _queued(ctx)
    assert not reg.after_pull()  # registered once


def test_a_clash_is_settled_by_the_workstation_that_numbered_nothing(  # type: ignore[no-untyped-def]
        ctx, make_patient, monkeypatch) -> None:
    with ctx.db.sessions()() as s, s.begin():
        mine = s.scalars(select(Workstation)).one()
        s.add(Workstation(clinic_id=mine.clinic_id, name="Joined at the same moment",
                          series_code=mine.series_code, is_local=False, created_at=NOW))
        code = mine.series_code
    monkeypatch.setattr(registry, "new_series_code", lambda: "R2D2")
    reg = WorkstationRegistry(ctx.core)
    patient_id = make_patient()
    with ctx.db.sessions()() as s, s.begin():  # this one has numbered an invoice already
        s.add(Invoice(clinic_id=mine.clinic_id, number=f"INV-{code}-000001",
                      patient_id=patient_id, status="issued", currency="EUR",
                      created_at=NOW, issued_at=NOW))
    assert not reg.after_pull()
    with ctx.db.sessions()() as s, s.begin():
        s.execute(text("DELETE FROM invoice"))
    assert reg.after_pull()  # nothing numbered here: this one draws again
    with ctx.db.sessions()() as s:
        assert s.get(Workstation, mine.id).series_code == "R2D2"
    assert mine.id in _queued(ctx)


def test_an_upgraded_workstation_is_queued_to_reach_the_clinic(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    key = new_database_key()
    info = new_keyinfo(key, new_recovery_secret())
    KeyStore().put(info.keyring_name, key)
    info.save(folder)
    engine = open_engine(folder / "clinic.db", key)
    migrate.upgrade(engine, "0002")
    with engine.begin() as c:
        c.execute(text(
            "INSERT INTO clinic(id,name,timezone,currency,locale,day_start,day_end,slot_minutes,"
            "tax_rounding,local_revision,updated_at) VALUES ('c1','Old Clinic','UTC','EUR','en',"
            "'08:00:00','18:00:00',15,'line',1,'2024-01-01 00:00:00')"))
        c.execute(text("INSERT INTO workstation(id,clinic_id,name,series_code,is_local,created_at)"
                       " VALUES ('w1','c1','Front desk','AB12',1,'2024-01-02 10:00:00')"))
    engine.dispose()
    db = ClinicDatabase.open(folder)
    try:
        from pms_desktop.context import build_context

        ctx = build_context(db)
        with db.sessions()() as s:
            ws = s.get(Workstation, "w1")
            assert (ws.updated_at, ws.local_revision, ws.server_version) == (
                ws.created_at, 1, None)
        assert _queued(ctx) == ["w1"]
        with db.sessions()() as s:
            resource = ctx.sync.rmap.resource_for(s, "workstation", "w1")
        assert resource["resourceType"] == "Device"
        assert resource["identifier"][0]["value"] == "AB12"
        assert resource["deviceName"][0]["name"] == "Front desk"
    finally:
        db.close()
