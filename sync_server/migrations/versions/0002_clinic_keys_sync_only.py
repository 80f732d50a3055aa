"""Clinic keys (wrapped, opaque to the server) and the sync-only marks that keep staff
accounts out of the FHIR API.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clinic_keys",
        sa.Column("clinic_id", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("wrapped", sa.Text(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"]),
        sa.PrimaryKeyConstraint("clinic_id"),
    )
    op.create_table(
        "sync_only_resources",
        sa.Column("clinic_id", sa.String(length=64), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"]),
        sa.PrimaryKeyConstraint("clinic_id", "resource_type", "resource_id"),
    )
    # Staff accounts pushed before this revision: mark them, so that none is served by FHIR.
    op.execute(
        "INSERT INTO sync_only_resources (clinic_id, resource_type, resource_id) "
        "SELECT DISTINCT clinic_id, resource_type, resource_id FROM resource_versions "
        "WHERE resource_type = 'Basic' AND content IS NOT NULL "
        "AND (content LIKE '%\"staff-user\"%' OR content LIKE '%/sealed-credentials\"%')"
    )


def downgrade() -> None:
    op.drop_table("sync_only_resources")
    op.drop_table("clinic_keys")
