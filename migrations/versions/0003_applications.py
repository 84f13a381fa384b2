"""Start/stop applications and payment-method changes (issue 5): the day a contract's tap was opened,
and an index for "what else is at this address" on contracts.

Revision ID: 0003_applications
Revises: 0002_lookup_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_applications"
down_revision = "0002_lookup_indexes"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("contract") as batch:
        # Set when the tap is opened (開栓); an accepted start whose contract has no date by its
        # start date is on the "accepted but not yet started" list.
        batch.add_column(sa.Column("opened_on", sa.Date(), nullable=True))
    op.create_index("ix_contract_place", "contract", ["ward_code", "town", "address_line"])


def downgrade():
    op.drop_index("ix_contract_place", table_name="contract")
    with op.batch_alter_table("contract") as batch:
        batch.drop_column("opened_on")
