"""Disaster notices, deliveries and supply points (issue 7): schema changes.

Deliveries get a lease (claimed_until / claimed_by) so a batch job that dies mid-batch leaves rows that
another run picks up once the lease has run out, and one row per (notification, account), so an account
gets one mail per outage version however many contracts it has in the area. Supply points get
updated_at, which the public pages use (with the status history) to tell whether anything changed.

Revision ID: 0005_disaster
Revises: 0004_reissue
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_disaster"
down_revision = "0004_reissue"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=40), nullable=True))
        batch_op.create_unique_constraint("uq_delivery_notification_account", ["notification_id", "account_id"])
    with op.batch_alter_table("supply_point", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("outage_notice_version", schema=None) as batch_op:
        batch_op.create_index("ix_outage_notice_version_published_at", ["published_at"], unique=False)


def downgrade():
    with op.batch_alter_table("outage_notice_version", schema=None) as batch_op:
        batch_op.drop_index("ix_outage_notice_version_published_at")
    with op.batch_alter_table("supply_point", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_constraint("uq_delivery_notification_account", type_="unique")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("claimed_until")
