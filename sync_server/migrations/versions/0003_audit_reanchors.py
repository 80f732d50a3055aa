"""Re-anchoring a device's access log after the workstation was restored from a backup.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_reanchors",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("clinic_id", sa.String(length=64), nullable=False),
        sa.Column("allowed_at", sa.String(length=32), nullable=False),
        sa.Column("allowed_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("done_at", sa.String(length=32), nullable=True),
        sa.Column("stream_id", sa.String(length=64), nullable=True),
        sa.Column("fork_seq", sa.BigInteger(), nullable=True),
        sa.Column("fork_hash", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_reanchors_device_id", "audit_reanchors", ["device_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_reanchors_device_id", table_name="audit_reanchors")
    op.drop_table("audit_reanchors")
