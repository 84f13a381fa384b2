"""The supervisor's contact figures read an index, not the contact table (issue 14): contacts per
category per Japan day over 30 days (≈ 243,000 rows at city scale) took 714 ms by bitmap heap scan; the
index (at, category_id) INCLUDE (id) answers it by an index-only scan. It also does what ix_contact_at
did (contacts by time), so it replaces it.

Revision ID: 0017_contact_day_counts
Revises: 0016_audit_partitions
"""

from alembic import op

revision = "0017_contact_day_counts"
down_revision = "0016_audit_partitions"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_contact_at_category", "contact", ["at", "category_id"], postgresql_include=["id"])
    op.drop_index("ix_contact_at", table_name="contact")


def downgrade():
    op.create_index("ix_contact_at", "contact", ["at"])
    op.drop_index("ix_contact_at_category", table_name="contact")
