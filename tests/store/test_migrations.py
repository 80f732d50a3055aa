"""Alembic owns the schema: older databases upgrade with their data, models and migrations agree."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from pms_desktop.domain.errors import SchemaTooNewError
from pms_desktop.store import migrate
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.engine import open_engine
from pms_desktop.store.keys import KeyStore, new_database_key, new_keyinfo, new_recovery_secret
from pms_desktop.store.models import Base

FIRST = "0001"


def _old_clinic(folder: Path) -> None:
    """A data folder whose database stopped at the first revision, with data in it."""
    folder.mkdir(parents=True)
    key = new_database_key()
    info = new_keyinfo(key, new_recovery_secret())
    KeyStore().put(info.keyring_name, key)
    info.save(folder)
    engine = open_engine(folder / "clinic.db", key)
    migrate.upgrade(engine, FIRST)
    with engine.begin() as c:
        c.execute(text(
            "INSERT INTO clinic(id,name,timezone,currency,locale,day_start,day_end,slot_minutes,"
            "tax_rounding,local_revision,updated_at) VALUES ('c1','Old Clinic','UTC','EUR','en',"
            "'08:00:00','18:00:00',15,'line',1,'2024-01-01 00:00:00')"))
        for i, (given, family) in enumerate([("Brigid", "Fennelly"), ("Oisin", "Mac Giolla")]):
            c.execute(text(
                "INSERT INTO patient(id,clinic_id,given,family,sex,birth_date,active,local_revision,"
                f"updated_at,phone_digits) VALUES ('p{i}','c1',:g,:f,'unknown','1970-01-0{i + 1}',1,1,"
                "'2024-01-01 00:00:00','0861112222')"), {"g": given, "f": family})
            c.execute(text(
                "INSERT INTO patient_identifier(id,patient_id,system,label,value,rank) VALUES "
                f"('i{i}','p{i}','urn:clinic:mrn','MRN','OLD-{i}',0)"))
            c.execute(text(  # the merge base of a synced patient (its own id until 0005)
                "INSERT INTO sync_base(id,resource_type,resource_id,version,resource) VALUES "
                f"('b{i}','Patient','p{i}',{i + 3},'{{\"resourceType\": \"Patient\"}}')"))
    engine.dispose()


def test_first_revision_upgrades_to_head_with_data_intact(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    _old_clinic(folder)
    db = ClinicDatabase.open(folder)  # the application upgrades on start
    assert db.schema_revision() == migrate.head_revision()
    with db.engine.connect() as c:
        names = c.execute(text("SELECT given, family FROM patient ORDER BY id")).all()
        assert [tuple(r) for r in names] == [("Brigid", "Fennelly"), ("Oisin", "Mac Giolla")]
        # the search index of revision 0002 was filled from the rows that were already there
        hits = c.execute(text(
            "SELECT k.patient_id FROM patient_search s JOIN patient_search_key k ON k.k = s.rowid"
            " WHERE patient_search MATCH 'fenn* brig*'")).scalars().all()
        assert hits == ["p0"]
        assert c.execute(text(
            "SELECT k.patient_id FROM patient_search s JOIN patient_search_key k ON k.k = s.rowid"
            " WHERE patient_search MATCH 'idents:old*'")).scalars().all() == ["p0", "p1"]
        assert c.execute(text(
            "SELECT resource_type, resource_id, version, resource FROM sync_base "
            "ORDER BY resource_id")).all() == [
            ("Patient", "p0", 3, '{"resourceType": "Patient"}'),
            ("Patient", "p1", 4, '{"resourceType": "Patient"}')]
    backups = list((folder / "backups").glob("clinic-pre-upgrade-0001-*.pmsbak"))
    assert len(backups) == 1, "an encrypted backup is taken before the upgrade"
    assert b"Fennelly" not in backups[0].read_bytes()
    db.close()



def _diff(engine) -> list:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _include})
        return compare_metadata(mc, Base.metadata)


def _include(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    return not (type_ == "table" and (name or "").startswith("patient_search"))


def test_no_pending_autogenerate_diff(ctx) -> None:  # type: ignore[no-untyped-def]
    assert _diff(ctx.db.engine) == []


def test_a_newer_schema_is_refused_with_the_version_needed(ctx, data_dir) -> None:  # type: ignore[no-untyped-def]
    with ctx.db.engine.begin() as c:
        c.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    ctx.close()
    with pytest.raises(SchemaTooNewError) as err:
        ClinicDatabase.open(data_dir)
    assert "0999" in str(err.value) and "newer version" in str(err.value)
