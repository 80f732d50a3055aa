"""On PostgreSQL, a resource's search rows are found through a hash index of their resource id
instead of the primary key ``(clinic_id, resource_type, resource_id, ordinal)``.

Every pushed resource writes ~8 search rows, and each row's entry in that key (about 90 bytes
of text, placed at random: resource ids are random UUIDs) cost more than the row itself: a
B-tree descent comparing three text columns, and page splits all over the index. A hash
entry is a 4-byte hash placed by the hash: 20 clinics' 100-change pushes, PostgreSQL's CPU
12.8-15.4 -> 11.0-12.6 ms a push in four interleaved pairs. The lookups the key served go to
the hash index, filtered by clinic and type: a resource's rows, deleted when it changes, and
search's ``EXISTS`` per resource. Uniqueness of ``(owner, ordinal)`` was never relied on: the
writer deletes a resource's rows before it writes their replacements, under its clinic's lock.
SQLite stores keep the key (SQLite has no hash index, and its B-tree costs less there).

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

_KEY = ["clinic_id", "resource_type", "resource_id", "ordinal"]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_constraint("search_index_pkey", "search_index", type_="primary")
    op.create_index("ix_search_owner_hash", "search_index", ["resource_id"],
                    postgresql_using="hash")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_search_owner_hash", table_name="search_index")
    op.create_primary_key("search_index_pkey", "search_index", _KEY)
