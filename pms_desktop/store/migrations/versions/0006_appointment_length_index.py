"""the longest appointment of a practitioner, read from an index

Checking a pulled appointment for double-bookings asked for every appointment of the
practitioner that starts before it ends and ends after it starts: with no lower bound on the
start, the (practitioner, start) index was read from the practitioner's first appointment on,
each entry looked up in the table, so a first pull checked n appointments against up to n
each. An index of each appointment's length by practitioner gives the longest one at once
(``max`` reads the index's last entry), and that bounds the start from below.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

LENGTH = "(julianday(end_at) - julianday(start_at))"


def upgrade() -> None:
    op.create_index("ix_appointment_practitioner_length", "appointment",
                    ["practitioner_id", sa.text(LENGTH)])


def downgrade() -> None:
    op.drop_index("ix_appointment_practitioner_length", table_name="appointment")
