"""Lighter writes for every pushed resource: the search index keyed by its owner, and on
PostgreSQL no per-row foreign-key checks of the clinic on the tables a push fills.

``search_index`` loses its surrogate ``id`` (a sequence value and a primary-key entry for each
of the ~6 rows a resource has) and its owner index: its primary key is now the owner and the
row's place among the owner's rows, ``(clinic_id, resource_type, resource_id, ordinal)``, which
serves every lookup the owner index served (a resource's rows, replaced on update; search's
``EXISTS`` per resource). Rows already there keep their order (``ordinal`` numbered by ``id``).

On PostgreSQL the foreign keys ``resources``, ``resource_versions`` and ``sync_changes`` ->
``clinics`` go: each cost a trigger and a locked look-up of the clinic for every row (~8 % of
the database's CPU in a push). The guarantee they gave (no row of a clinic that does not exist)
is kept by the writer: every transaction that writes these tables first locks its clinic's row
(``ResourceWriter``: ``SELECT ... FOR UPDATE``, "unknown clinic" when there is none), so the
clinic exists and cannot go until the rows are committed; and no path deletes a clinic. SQLite
stores keep theirs (dropping one rebuilds the table, and its check costs little there).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_OWNER = ["clinic_id", "resource_type", "resource_id"]
_CLINIC_KEYS = ("resources", "resource_versions", "sync_changes")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column("search_index", sa.Column("ordinal", sa.Integer(), nullable=True))
    # Each owner's rows numbered 0, 1, ... in the order they were written.
    op.execute(
        "UPDATE search_index SET ordinal = numbered.n FROM ("
        " SELECT id, row_number() OVER (PARTITION BY clinic_id, resource_type, resource_id"
        " ORDER BY id) - 1 AS n FROM search_index) AS numbered"
        " WHERE search_index.id = numbered.id")
    with op.batch_alter_table("search_index", recreate="auto") as batch:
        batch.drop_index("ix_search_owner")
        batch.drop_column("id")  # and its primary key (and, on PostgreSQL, its sequence)
        batch.alter_column("ordinal", existing_type=sa.Integer(), nullable=False)
        batch.create_primary_key("search_index_pkey", [*_OWNER, "ordinal"])
    if postgres:
        for table in _CLINIC_KEYS:
            op.drop_constraint(f"{table}_clinic_id_fkey", table, type_="foreignkey")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        for table in _CLINIC_KEYS:
            op.create_foreign_key(f"{table}_clinic_id_fkey", table, "clinics",
                                  ["clinic_id"], ["id"])
    with op.batch_alter_table("search_index", recreate="auto") as batch:
        batch.drop_constraint("search_index_pkey", type_="primary")
    if postgres:
        op.execute("ALTER TABLE search_index ADD COLUMN id SERIAL PRIMARY KEY")
    else:  # SQLite: the table made again with an id numbering its rows
        with op.batch_alter_table("search_index", recreate="always") as batch:
            batch.add_column(sa.Column("id", sa.Integer(), nullable=True))
        op.execute("UPDATE search_index SET id = rowid")
        with op.batch_alter_table("search_index", recreate="always") as batch:
            batch.alter_column("id", existing_type=sa.Integer(), nullable=False)
            batch.create_primary_key("search_index_pkey", ["id"])
    with op.batch_alter_table("search_index", recreate="auto") as batch:
        batch.drop_column("ordinal")
        batch.create_index("ix_search_owner", _OWNER, unique=False)
