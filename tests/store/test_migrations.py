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
                "INSERT INTO patient(id,clinic_id,given,family,sex,birth_date,active,"
                "local_revision,updated_at,phone_digits) "
                f"VALUES ('p{i}','c1',:g,:f,'unknown','1970-01-0{i + 1}',1,1,"
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
        # the longest appointment of a practitioner is read from an index (0006; autogenerate
        # cannot compare an expression index on SQLite)
        length_index = c.execute(text("SELECT sql FROM sqlite_master WHERE name = "
                                      "'ix_appointment_practitioner_length'")).scalar()
        assert "(practitioner_id, (julianday(end_at) - julianday(start_at)))" in length_index
    backups = list((folder / "backups").glob("clinic-pre-upgrade-0001-*.pmsbak"))
    assert len(backups) == 1, "an encrypted backup is taken before the upgrade"
    assert b"Fennelly" not in backups[0].read_bytes()
    db.close()



def _diff(engine) -> list:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        mc = MigrationContext.configure(conn,
                                        opts={"compare_type": True, "include_object": _include})
        return compare_metadata(mc, Base.metadata)


def _include(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    return not (type_ == "table" and (name or "").startswith("patient_search"))


@pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning",
                            "ignore:.*expression-based index:sqlalchemy.exc.SAWarning")
def test_no_pending_autogenerate_diff(ctx) -> None:  # type: ignore[no-untyped-def]
    assert _diff(ctx.db.engine) == []


def test_a_newer_schema_is_refused_with_the_version_needed(ctx, data_dir) -> None:  # type: ignore[no-untyped-def]
    with ctx.db.engine.begin() as c:
        c.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    ctx.close()
    with pytest.raises(SchemaTooNewError) as err:
        ClinicDatabase.open(data_dir)
    assert "0999" in str(err.value) and "newer version" in str(err.value)


def test_the_plain_head_is_alembics_head() -> None:
    """A start at head is told without Alembic, from the files' revision lines."""
    assert migrate.plain_head() == migrate.head_revision()


def _versions(folder: Path, extra: dict[str, str]) -> Path:
    folder.mkdir()
    for path in migrate.VERSIONS.glob("*.py"):
        (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    for name, source in extra.items():
        (folder / name).write_text(source, encoding="utf-8")
    return folder


# The files' head today, and a revision after it (the tests add files after the real ones).
HEAD = migrate.plain_head() or "?"
NEXT, BEFORE = f"{int(HEAD) + 1:04d}", f"{int(HEAD) - 1:04d}"


@pytest.mark.parametrize("extra", [
    # a revision named otherwise than as a plain string: the head cannot be read plainly
    {f"{NEXT}_next.py": f'REV = "{NEXT}"\nrevision = REV\ndown_revision = "{HEAD}"\n'},
    # two migrations after the head: two heads (a branch)
    {f"{NEXT}_a.py": f'revision = "{NEXT}"\ndown_revision = "{HEAD}"\n',
     f"{NEXT}_b.py": f'revision = "{NEXT}b"\ndown_revision = "{HEAD}"\n'},
    # a merge of two revisions
    {f"{NEXT}_merge.py": f'revision = "{NEXT}"\ndown_revision = ("{BEFORE}", "{HEAD}")\n'},
])
def test_the_plain_head_gives_way_to_alembic_when_unsure(tmp_path: Path,
                                                         extra: dict[str, str]) -> None:
    assert migrate.plain_head(_versions(tmp_path / "versions", extra)) is None


def test_a_new_migration_file_is_the_plain_head(tmp_path: Path) -> None:
    assert HEAD == migrate.head_revision()  # Alembic's answer for the real files
    versions = _versions(tmp_path / "versions", {
        f"{NEXT}_next.py": f'revision: str = "{NEXT}"\ndown_revision: str | None = "{HEAD}"\n'})
    assert migrate.plain_head(versions) == NEXT


def test_a_database_behind_the_files_is_still_upgraded(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The plain check only ever says 'at head': a database one revision behind is upgraded."""
    folder = tmp_path / "old"
    _old_clinic(folder)
    calls: list[str] = []
    real = migrate.upgrade
    monkeypatch.setattr(migrate, "upgrade", lambda engine, target="head": (
        calls.append(target), real(engine, target))[1])
    db = ClinicDatabase.open(folder)
    assert calls == ["head"] and db.schema_revision() == migrate.head_revision()
    db.close()
    calls.clear()
    ClinicDatabase.open(folder).close()  # at head now: nothing to do
    assert calls == []
