"""Indexes the city-scale benchmark asked for: every link of a contract, and e-mail of every account.

The R5 unique index on account_link covers only active links, and the R4 one on e-mail only live
accounts; the customer view and the lookup need all rows, so each gets a plain btree.

Revision ID: 0007_lookup_indexes_more
Revises: 0006_reports
"""

from alembic import op

revision = "0007_lookup_indexes_more"
down_revision = "0006_reports"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_account_link_contract_id", "account_link", ["contract_id"])
    op.create_index("ix_portal_account_email_key", "portal_account", ["email_key"])


def downgrade():
    op.drop_index("ix_portal_account_email_key", table_name="portal_account")
    op.drop_index("ix_account_link_contract_id", table_name="account_link")
