"""merge bases keyed by their resource: ``sync_base`` without its own id

A merge base is found by (resource type, resource id), which was already unique; its own
random id was written for every record a pull adds and kept a second index of random keys up
to date (one more page to write and encrypt for each). The pair is now the primary key, and
the table keeps one index.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_base_new",
        sa.Column("resource_type", sa.String(length=40), nullable=False),
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("resource_type", "resource_id", name="pk_sync_base"),
    )
    op.execute("INSERT INTO sync_base_new (resource_type, resource_id, version, resource) "
               "SELECT resource_type, resource_id, version, resource FROM sync_base")
    op.drop_table("sync_base")
    op.rename_table("sync_base_new", "sync_base")


def downgrade() -> None:
    op.create_table(
        "sync_base_old",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("resource_type", sa.String(length=40), nullable=False),
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sync_base"),
        sa.UniqueConstraint("resource_type", "resource_id",
                            name="uq_sync_base_resource_type_resource_id"),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT resource_type, resource_id, version, resource FROM sync_base")).all()
    for start in range(0, len(rows), 1000):
        bind.execute(sa.text(
            "INSERT INTO sync_base_old (id, resource_type, resource_id, version, resource) "
            "VALUES (:id, :t, :r, :v, :res)"),
            [{"id": str(uuid.uuid4()), "t": t, "r": r, "v": v, "res": res}
             for t, r, v, res in rows[start:start + 1000]])
    op.drop_table("sync_base")
    op.rename_table("sync_base_old", "sync_base")
