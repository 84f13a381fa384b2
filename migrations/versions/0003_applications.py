"""Start/stop applications and payment-method changes (issue 5): schema changes.

Revision ID: 0003_applications
Revises: 0002_lookup_indexes
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0003_applications"
down_revision = "0002_lookup_indexes"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
