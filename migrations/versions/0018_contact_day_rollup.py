"""Contacts per category per closed Japan day, counted once (issue 14): the supervisor's home read 243,000
contacts for its 30-day chart on every visit (229 ms at city scale); it now reads 29 rows and counts today.

Revision ID: 0018_contact_day_rollup
Revises: 0017_contact_day_counts
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_contact_day_rollup"
down_revision = "0017_contact_day_counts"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "contact_day_count",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_contact_day_count")),
    )


def downgrade():
    op.drop_table("contact_day_count")
