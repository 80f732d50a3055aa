"""patient search index: FTS5 over names, identifiers and phone digits, kept by triggers

The FTS rowid comes from ``patient_search_key``, an INTEGER PRIMARY KEY table: a patient's
implicit rowid is not stable across VACUUM or an export, an explicit integer key is.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NAMES = (
    "coalesce({p}.given,'') || ' ' || coalesce({p}.middle,'') || ' ' || {p}.family"
    " || ' ' || coalesce({p}.preferred_name,'')"
)
IDENTS = "coalesce((SELECT group_concat(value, ' ') FROM patient_identifier WHERE patient_id = {id}),'')"
PHONES = (
    "coalesce({p}.phone_digits,'') || ' ' || coalesce((SELECT group_concat(digits, ' ')"
    " FROM patient_telecom WHERE patient_id = {id} AND digits IS NOT NULL),'')"
)


def _refresh(patient_id: str) -> str:
    """Statements that rewrite one patient's index row (inside a trigger body)."""
    p = "pp"
    return f"""
        INSERT OR IGNORE INTO patient_search_key(patient_id) VALUES ({patient_id});
        DELETE FROM patient_search WHERE rowid =
            (SELECT k FROM patient_search_key WHERE patient_id = {patient_id});
        INSERT INTO patient_search(rowid, names, idents, phones)
            SELECT (SELECT k FROM patient_search_key WHERE patient_id = {p}.id),
                   {NAMES.format(p=p)}, {IDENTS.format(id=p + '.id')}, {PHONES.format(p=p, id=p + '.id')}
            FROM patient AS {p} WHERE {p}.id = {patient_id};
    """


def upgrade() -> None:
    op.execute("CREATE TABLE patient_search_key (k INTEGER PRIMARY KEY, patient_id VARCHAR(36) NOT NULL UNIQUE)")
    op.execute(
        "CREATE VIRTUAL TABLE patient_search USING fts5(names, idents, phones,"
        " content='', contentless_delete=1,"
        " tokenize='unicode61 remove_diacritics 2', prefix='1 2 3')"
    )
    op.execute(f"CREATE TRIGGER patient_search_ai AFTER INSERT ON patient BEGIN {_refresh('new.id')} END")
    op.execute(
        "CREATE TRIGGER patient_search_au AFTER UPDATE OF given, middle, family, preferred_name,"
        f" phone_digits ON patient BEGIN {_refresh('new.id')} END"
    )
    op.execute(
        "CREATE TRIGGER patient_search_ad AFTER DELETE ON patient BEGIN"
        " DELETE FROM patient_search WHERE rowid ="
        " (SELECT k FROM patient_search_key WHERE patient_id = old.id);"
        " DELETE FROM patient_search_key WHERE patient_id = old.id; END"
    )
    for table in ("patient_identifier", "patient_telecom"):
        short = "pi" if table == "patient_identifier" else "pt"
        op.execute(f"CREATE TRIGGER patient_search_{short}_ai AFTER INSERT ON {table} BEGIN {_refresh('new.patient_id')} END")
        op.execute(f"CREATE TRIGGER patient_search_{short}_au AFTER UPDATE ON {table} BEGIN {_refresh('new.patient_id')} {_refresh('old.patient_id')} END")
        op.execute(f"CREATE TRIGGER patient_search_{short}_ad AFTER DELETE ON {table} BEGIN {_refresh('old.patient_id')} END")
    # Backfill what an older database already holds.
    op.execute("INSERT INTO patient_search_key(patient_id) SELECT id FROM patient")
    p = "pp"
    op.execute(
        "INSERT INTO patient_search(rowid, names, idents, phones) SELECT k.k, "
        f"{NAMES.format(p=p)}, {IDENTS.format(id=p + '.id')}, {PHONES.format(p=p, id=p + '.id')}"
        f" FROM patient AS {p} JOIN patient_search_key AS k ON k.patient_id = {p}.id"
    )


def downgrade() -> None:
    for name in ("ai", "au", "ad", "pi_ai", "pi_au", "pi_ad", "pt_ai", "pt_au", "pt_ad"):
        op.execute(f"DROP TRIGGER IF EXISTS patient_search_{name}")
    op.execute("DROP TABLE IF EXISTS patient_search")
    op.execute("DROP TABLE IF EXISTS patient_search_key")
