"""Report runs for supervisors' Excel reports (issue 8): schema changes.

Revision ID: 0006_reports
Revises: 0005_disaster
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0006_reports"
down_revision = "0005_disaster"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
