"""On PostgreSQL the four tables every push fills are partitioned by clinic.

``resources``, ``resource_versions``, ``sync_changes`` and ``search_index`` become
``PARTITION BY HASH (clinic_id)`` with ``PARTITIONS`` partitions each: a clinic's rows, and its
index entries, live in one partition of each. Every statement of a push or a pull names its
clinic, so it reads and writes that partition only.

Why: a push appends to these tables' ends and splits their indexes' pages, and PostgreSQL
extends a table or an index one relation at a time (its extension lock). With 20 clinics
pushing at once, all of them appended to the same ``search_index`` and its two indexes: in a
sample every 3 ms, up to 16 of the 20 database sessions at once were waiting for that one lock
(the average over a run: 2.6 sessions), and pushes finished in bursts after each such stall.
Partitioned, each clinic extends its own partition (0.1 sessions waiting on average), and each
partition's indexes are a sixteenth of the size. SQLite stores are left as they are (one writer
at a time; no extension lock).

The rows are copied into the new tables in the migration's transaction, and the primary keys,
unique constraints and indexes are built after the copy, under the names they had.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PARTITIONS = 16

# Each table's keys and indexes, as the models declare them (``store/models.py``).
_KEYS: dict[str, list[str]] = {
    "resources": [
        "ALTER TABLE resources ADD CONSTRAINT resources_pkey "
        "PRIMARY KEY (clinic_id, resource_type, resource_id)",
        "CREATE INDEX ix_resources_type_updated "
        "ON resources (clinic_id, resource_type, last_updated)"],
    "resource_versions": [
        "ALTER TABLE resource_versions ADD CONSTRAINT resource_versions_pkey "
        "PRIMARY KEY (clinic_id, resource_type, resource_id, version)",
        "ALTER TABLE resource_versions ADD CONSTRAINT uq_versions_clinic_seq "
        "UNIQUE (clinic_id, seq)",
        "CREATE INDEX ix_versions_type_updated "
        "ON resource_versions (clinic_id, resource_type, last_updated)"],
    "sync_changes": [
        "ALTER TABLE sync_changes ADD CONSTRAINT sync_changes_pkey "
        "PRIMARY KEY (clinic_id, change_id)"],
    "search_index": [
        "ALTER TABLE search_index ADD CONSTRAINT search_index_pkey "
        "PRIMARY KEY (clinic_id, resource_type, resource_id, ordinal)",
        "CREATE INDEX ix_search_value ON search_index (clinic_id, resource_type, param, text)"],
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, keys in _KEYS.items():
        _remake(table, keys, partitioned=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, keys in _KEYS.items():
        _remake(table, keys, partitioned=False)


def _remake(table: str, keys: list[str], *, partitioned: bool) -> None:
    """``table`` made again (partitioned by clinic or not) with its rows, keys and indexes."""
    old = f"{table}_before_0005"
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    layout = " PARTITION BY HASH (clinic_id)" if partitioned else ""
    op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS){layout}")
    if partitioned:
        for i in range(PARTITIONS):
            op.execute(f"CREATE TABLE {table}_p{i:02d} PARTITION OF {table} "
                       f"FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {i})")
    op.execute(f"INSERT INTO {table} SELECT * FROM {old}")
    op.execute(f"DROP TABLE {old}")  # its partitions, keys and indexes with it
    for statement in keys:
        op.execute(statement)
