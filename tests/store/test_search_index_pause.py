"""The patient search index paused for a pulled page (migration 0004, ``store.search_index``):
patients written while it is paused are found once it resumes, with what they hold then and
nothing they held before; a rolled-back page leaves the index and the pause as they were; a
person's edit outside a pause is found at once; a store at revision 0003 upgrades with its
patients still found."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from pms_desktop.services.patients_search import search_ids
from pms_desktop.store import migrate, search_index
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.engine import open_engine
from pms_desktop.store.keys import KeyStore, new_database_key, new_keyinfo, new_recovery_secret

BEFORE = "0003"


def _add_patient(s: Session, pid: str, given: str, family: str, *, mrn: str, phone: str,
                 mobile: str | None = None) -> None:
    clinic = s.execute(text("SELECT id FROM clinic")).scalar_one()
    s.execute(text(
        "INSERT INTO patient(id,clinic_id,given,family,sex,birth_date,active,local_revision,"
        "updated_at,phone_digits) VALUES (:id,:c,:g,:f,'unknown','1970-01-01',1,1,"
        "'2024-01-01 00:00:00',:ph)"), {"id": pid, "c": clinic, "g": given, "f": family,
                                         "ph": phone})
    s.execute(text("INSERT INTO patient_identifier(id,patient_id,system,label,value,rank)"
                   " VALUES (:id,:p,'urn:clinic:mrn','MRN',:v,0)"),
              {"id": f"{pid}-mrn", "p": pid, "v": mrn})
    if mobile is not None:
        s.execute(text("INSERT INTO patient_telecom(id,patient_id,system,use,value,digits,rank)"
                       " VALUES (:id,:p,'phone','mobile',:v,:v,0)"),
                  {"id": f"{pid}-tel", "p": pid, "v": mobile})


def _found(s: Session, query: str) -> set[str]:
    return set(search_ids(s, query, 50))


def _paused_rows(s: Session) -> tuple[int, int]:
    return (s.execute(text("SELECT count(*) FROM patient_search_pause")).scalar_one(),
            s.execute(text("SELECT count(*) FROM patient_search_stale")).scalar_one())


def _indexed(s: Session) -> int:
    return s.execute(text("SELECT count(*) FROM patient_search")).scalar_one()


def test_patients_written_while_paused_are_found_by_every_kind_once_resumed(ctx) -> None:  # type: ignore[no-untyped-def]
    sessions = ctx.db.sessions()
    with sessions() as s, s.begin():
        indexed = _indexed(s)
        search_index.pause(s)
        _add_patient(s, "pz1", "Zbigniew", "Quartermaine", mrn="QX-9001", phone="0871230001",
                     mobile="0859990001")
        _add_patient(s, "pz2", "Wenceslas", "Quartermaine", mrn="QX-9002", phone="0871230002")
        # changed again in the same page: only what it holds at the end is found
        s.execute(text("UPDATE patient_identifier SET value = 'QX-7777' WHERE id = 'pz2-mrn'"))
        s.execute(text("UPDATE patient SET family = 'Vandersloot' WHERE id = 'pz2'"))
        assert _found(s, "Zbigniew") == set(), "paused: written once, at the end"
        search_index.resume(s)
        assert _paused_rows(s) == (0, 0)
        assert _indexed(s) == indexed + 2
        assert _found(s, "Zbigniew") == {"pz1"}
        assert _found(s, "zbig quarter") == {"pz1"}
        assert _found(s, "QX-9001") == {"pz1"}
        assert _found(s, "0871230001") == {"pz1"}
        assert _found(s, "0859990001") == {"pz1"}  # a phone row of its own
        assert _found(s, "Wenceslas Vandersloot") == {"pz2"}
        assert _found(s, "QX-7777") == {"pz2"}
        assert _found(s, "QX-9002") == set() and _found(s, "Quartermaine") == {"pz1"}
    with sessions() as s:
        assert _found(s, "Zbigniew") == {"pz1"} and _paused_rows(s) == (0, 0)


def test_a_rolled_back_page_leaves_no_pause_and_the_index_as_it_was(ctx) -> None:  # type: ignore[no-untyped-def]
    sessions = ctx.db.sessions()
    with sessions() as s, s.begin():
        _add_patient(s, "pk1", "Kept", "Before", mrn="KB-1", phone="0861110000")
    with pytest.raises(RuntimeError), sessions() as s, s.begin():
        search_index.pause(s)
        _add_patient(s, "pr1", "Rolled", "Back", mrn="RB-1", phone="0862220000")
        s.execute(text("UPDATE patient SET family = 'Changed' WHERE id = 'pk1'"))
        raise RuntimeError("the page failed")
    with sessions() as s, s.begin():
        assert _paused_rows(s) == (0, 0)
        assert _found(s, "Rolled") == set() and _found(s, "Changed") == set()
        assert _found(s, "Kept Before") == {"pk1"}
        # the index is kept row by row again: a person's edit is found at once
        s.execute(text("UPDATE patient SET family = 'Afterwards' WHERE id = 'pk1'"))
        assert _found(s, "Afterwards") == {"pk1"} and _found(s, "Before") == set()
        _add_patient(s, "pl1", "Local", "Edit", mrn="LE-1", phone="0863330000")
        assert _found(s, "LE-1") == {"pl1"}


def test_a_pause_is_never_taken_twice(ctx) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import IntegrityError

    with ctx.db.sessions()() as s, s.begin():
        search_index.pause(s)
        with pytest.raises(IntegrityError), s.begin_nested():
            search_index.pause(s)
        search_index.resume(s)


def test_a_store_at_0003_upgrades_and_keeps_its_patients_found(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    key = new_database_key()
    info = new_keyinfo(key, new_recovery_secret())
    KeyStore().put(info.keyring_name, key)
    info.save(folder)
    engine = open_engine(folder / "clinic.db", key)
    migrate.upgrade(engine, BEFORE)
    with Session(engine) as s, s.begin():
        s.execute(text(
            "INSERT INTO clinic(id,name,timezone,currency,locale,day_start,day_end,slot_minutes,"
            "tax_rounding,local_revision,updated_at) VALUES ('c1','Old Clinic','UTC','EUR','en',"
            "'08:00:00','18:00:00',15,'line',1,'2024-01-01 00:00:00')"))
        _add_patient(s, "po1", "Brigid", "Fennelly", mrn="OLD-1", phone="0861112222")
    engine.dispose()
    db = ClinicDatabase.open(folder)  # the application upgrades on start
    try:
        assert db.schema_revision() == migrate.head_revision()
        with db.sessions()() as s, s.begin():
            assert _found(s, "fenn brig") == {"po1"} and _found(s, "OLD-1") == {"po1"}
            s.execute(text("UPDATE patient SET given = 'Bríd' WHERE id = 'po1'"))
            assert _found(s, "Brid Fennelly") == {"po1"}  # an edit: found at once, as before
            search_index.pause(s)
            _add_patient(s, "pn1", "Niamh", "Fennelly", mrn="NEW-1", phone="0869998888")
            search_index.resume(s)
            assert _found(s, "Fennelly") == {"po1", "pn1"}
    finally:
        db.close()


def _segments(s: Session) -> int:
    # rows of FTS5's %_idx table: one for each leaf of each segment; merged, fewer
    return s.execute(text("SELECT count(*) FROM patient_search_idx")).scalar_one()


def test_optimize_merges_the_index_and_searches_find_what_they_found(ctx) -> None:  # type: ignore[no-untyped-def]
    sessions = ctx.db.sessions()
    for i in range(30):  # thirty writers, each its own transaction: segments and dead entries
        with sessions() as s, s.begin():
            _add_patient(s, f"po{i}", "Ottoline", f"Merrow{i}", mrn=f"OP-{i}", phone=f"08700{i:05}")
            s.execute(text("UPDATE patient SET given = 'Ottilie' WHERE id = :p"), {"p": f"po{i}"})
    with sessions() as s:
        before = {q: _found(s, q) for q in ("Ottilie", "Ottoline", "ottil merrow1", "OP-7",
                                            "0870000012")}
        rows_before = _segments(s)
    assert len(before["Ottilie"]) == 30 and before["Ottoline"] == set()
    with sessions() as s, s.begin():
        search_index.optimize(s)
    with sessions() as s:
        assert {q: _found(s, q) for q in before} == before
        assert _segments(s) < rows_before, "optimize merges the index's segments"
