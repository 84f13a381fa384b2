"""Reissue requests and print batches (issue 6): schema changes.

Revision ID: 0004_reissue
Revises: 0003_applications
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0004_reissue"
down_revision = "0003_applications"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
