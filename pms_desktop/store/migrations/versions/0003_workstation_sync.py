"""workstations sync: the sync metadata on ``workstation``

A workstation's record (its name and the series code of its document numbers) now reaches the
clinic's other workstations as a FHIR Device, so that a workstation joining the clinic picks a
series code none of them uses. Existing rows keep their ids; ``updated_at`` starts at
``created_at``; this installation's own record is queued in the outbox, as set-up now does, so
that the next sync tells the clinic.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workstation") as batch:
        batch.add_column(sa.Column("server_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("local_revision", sa.Integer(), nullable=False,
                                   server_default="1"))
        batch.add_column(sa.Column("updated_by", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("updated_at", sa.DateTime(), nullable=False,
                                   server_default="1970-01-01 00:00:00"))
    op.execute("UPDATE workstation SET updated_at = created_at")
    bind = op.get_bind()
    now = datetime.now(UTC).replace(tzinfo=None)
    for (ws_id,) in bind.execute(sa.text("SELECT id FROM workstation WHERE is_local")).all():
        bind.execute(sa.text(
            "INSERT INTO sync_outbox (change_id, resource_type, table_name, resource_id, op, "
            "base_version, local_revision, created_at, status, attempts) VALUES (:change, "
            "'Device', 'workstation', :id, 'upsert', NULL, 1, :now, 'pending', 0)"),
            {"change": str(uuid.uuid4()), "id": ws_id, "now": now})


def downgrade() -> None:
    op.execute("DELETE FROM sync_outbox WHERE table_name = 'workstation' AND status = 'pending'")
    with op.batch_alter_table("workstation") as batch:
        for column in ("updated_at", "updated_by", "local_revision", "server_version"):
            batch.drop_column(column)
