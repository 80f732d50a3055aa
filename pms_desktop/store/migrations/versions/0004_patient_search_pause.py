"""patient search index: paused while a pulled page is applied, written once at its end

The triggers of 0002 rewrite a patient's index row at every patient, identifier and phone row
written: four rewrites for a new patient with two identifiers and a phone, most of the cost of
a first pull. While a row of ``patient_search_pause`` exists they only note the patient in
``patient_search_stale``; deleting the pause row rewrites the index rows of the noted patients
at once (one statement per step, as the 0002 backfill) and forgets them. The pull inserts and
deletes the pause row inside a page's own transaction (``pms_desktop.store.search_index``), so
a crash or a rollback takes the pause and the notes with the page. Without a pause row (every
local edit) the triggers are those of 0002.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_0002 = importlib.import_module("pms_desktop.store.migrations.versions.0002_patient_search_index")
NAMES, IDENTS, PHONES, _refresh = _0002.NAMES, _0002.IDENTS, _0002.PHONES, _0002._refresh

RUNNING = "NOT EXISTS (SELECT 1 FROM patient_search_pause)"
PAUSED = "EXISTS (SELECT 1 FROM patient_search_pause)"
TRIGGERS = ("ai", "au", "ad", "pi_ai", "pi_au", "pi_ad", "pt_ai", "pt_au", "pt_ad")


def _note(*patient_ids: str) -> str:
    return " ".join(f"INSERT OR IGNORE INTO patient_search_stale(patient_id) VALUES ({p});"
                    for p in patient_ids)


def _resume() -> str:
    """Statements that rewrite the noted patients' index rows (a patient no longer here
    loses its row and key, as the 0002 delete trigger does), then forget them. ``CROSS JOIN``
    makes SQLite read the few noted patients first: left to choose, it scanned every patient
    and looked each up among the noted (~130 ms a page on 100,000 patients, even an empty
    page: a sync with nothing to do took 200 ms)."""
    p = "pp"
    return f"""
        DELETE FROM patient_search WHERE rowid IN (SELECT k.k FROM patient_search_key AS k
            JOIN patient_search_stale AS t ON t.patient_id = k.patient_id);
        DELETE FROM patient_search_key WHERE patient_id IN
            (SELECT patient_id FROM patient_search_stale)
            AND patient_id NOT IN (SELECT id FROM patient);
        INSERT OR IGNORE INTO patient_search_key(patient_id)
            SELECT t.patient_id FROM patient_search_stale AS t
            CROSS JOIN patient AS p ON p.id = t.patient_id;
        INSERT INTO patient_search(rowid, names, idents, phones)
            SELECT k.k, {NAMES.format(p=p)}, {IDENTS.format(id=p + '.id')},
                   {PHONES.format(p=p, id=p + '.id')}
            FROM patient_search_stale AS t CROSS JOIN patient AS {p} ON {p}.id = t.patient_id
            CROSS JOIN patient_search_key AS k ON k.patient_id = {p}.id;
        DELETE FROM patient_search_stale;
    """


def _triggers(when: str | None) -> None:
    """The nine triggers of 0002, each only ``when`` (None: always, as 0002 made them)."""
    cond = f" WHEN {when}" if when else ""
    op.execute(f"CREATE TRIGGER patient_search_ai AFTER INSERT ON patient{cond}"
               f" BEGIN {_refresh('new.id')} END")
    op.execute(
        "CREATE TRIGGER patient_search_au AFTER UPDATE OF given, middle, family, preferred_name,"
        f" phone_digits ON patient{cond} BEGIN {_refresh('new.id')} END"
    )
    op.execute(
        f"CREATE TRIGGER patient_search_ad AFTER DELETE ON patient{cond} BEGIN"
        " DELETE FROM patient_search WHERE rowid ="
        " (SELECT k FROM patient_search_key WHERE patient_id = old.id);"
        " DELETE FROM patient_search_key WHERE patient_id = old.id; END"
    )
    for table in ("patient_identifier", "patient_telecom"):
        short = "pi" if table == "patient_identifier" else "pt"
        op.execute(f"CREATE TRIGGER patient_search_{short}_ai AFTER INSERT ON {table}{cond}"
                   f" BEGIN {_refresh('new.patient_id')} END")
        op.execute(f"CREATE TRIGGER patient_search_{short}_au AFTER UPDATE ON {table}{cond}"
                   f" BEGIN {_refresh('new.patient_id')} {_refresh('old.patient_id')} END")
        op.execute(f"CREATE TRIGGER patient_search_{short}_ad AFTER DELETE ON {table}{cond}"
                   f" BEGIN {_refresh('old.patient_id')} END")


def _drop_triggers() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS patient_search_{name}")


def upgrade() -> None:
    op.execute("CREATE TABLE patient_search_pause (one INTEGER PRIMARY KEY CHECK (one = 1))")
    op.execute("CREATE TABLE patient_search_stale (patient_id VARCHAR(36) PRIMARY KEY)"
               " WITHOUT ROWID")
    _drop_triggers()
    _triggers(RUNNING)
    # While paused: the patient is only noted (one cheap row, at most once per patient).
    op.execute(f"CREATE TRIGGER patient_search_paused_ai AFTER INSERT ON patient WHEN {PAUSED}"
               f" BEGIN {_note('new.id')} END")
    op.execute("CREATE TRIGGER patient_search_paused_au AFTER UPDATE OF given, middle, family,"
               f" preferred_name, phone_digits ON patient WHEN {PAUSED}"
               f" BEGIN {_note('new.id')} END")
    op.execute(f"CREATE TRIGGER patient_search_paused_ad AFTER DELETE ON patient WHEN {PAUSED}"
               f" BEGIN {_note('old.id')} END")
    for table in ("patient_identifier", "patient_telecom"):
        short = "pi" if table == "patient_identifier" else "pt"
        op.execute(f"CREATE TRIGGER patient_search_paused_{short}_ai AFTER INSERT ON {table}"
                   f" WHEN {PAUSED} BEGIN {_note('new.patient_id')} END")
        op.execute(f"CREATE TRIGGER patient_search_paused_{short}_au AFTER UPDATE ON {table}"
                   f" WHEN {PAUSED} BEGIN {_note('new.patient_id', 'old.patient_id')} END")
        op.execute(f"CREATE TRIGGER patient_search_paused_{short}_ad AFTER DELETE ON {table}"
                   f" WHEN {PAUSED} BEGIN {_note('old.patient_id')} END")
    op.execute("CREATE TRIGGER patient_search_resume AFTER DELETE ON patient_search_pause"
               f" BEGIN {_resume()} END")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS patient_search_resume")
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS patient_search_paused_{name}")
    _drop_triggers()
    _triggers(None)
    op.execute("DROP TABLE IF EXISTS patient_search_stale")
    op.execute("DROP TABLE IF EXISTS patient_search_pause")
