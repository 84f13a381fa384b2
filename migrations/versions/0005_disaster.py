"""Disaster notices, deliveries and supply points (issue 7): schema changes.

Revision ID: 0005_disaster
Revises: 0004_reissue
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0005_disaster"
down_revision = "0004_reissue"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
