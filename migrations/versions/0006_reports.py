"""Report runs for supervisors' Excel reports (issue 8): schema changes.

Revision ID: 0006_reports
Revises: 0005_disaster
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_reports"
down_revision = "0005_disaster"
branch_labels = None
depends_on = None

ACTIVE = sa.text("status IN ('queued', 'running')")


def upgrade():
    op.create_table(
        "report_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report", sa.String(length=40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("run_key", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "done",
                "failed",
                "expired",
                name="reportstatus",
                native_enum=False,
                create_constraint=True,
                length=15,
            ),
            nullable=False,
        ),
        sa.Column("scheduled", sa.Boolean(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rows_total", sa.BigInteger(), nullable=True),
        sa.Column("row_count", sa.BigInteger(), nullable=True),
        sa.Column("sheet_count", sa.Integer(), nullable=True),
        sa.Column("file_name", sa.String(length=200), nullable=True),
        sa.Column("file_size", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["requested_by_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    # One queued-or-running build per report and parameters: a second request joins it.
    op.create_index(
        "uq_report_run_active_key",
        "report_run",
        ["run_key"],
        unique=True,
        postgresql_where=ACTIVE,
        sqlite_where=ACTIVE,
    )
    op.create_index("ix_report_run_created", "report_run", ["created_at"])
    op.create_index("ix_report_run_key_status", "report_run", ["run_key", "status"])


def downgrade():
    op.drop_index("ix_report_run_key_status", table_name="report_run")
    op.drop_index("ix_report_run_created", table_name="report_run")
    op.drop_index("uq_report_run_active_key", table_name="report_run")
    op.drop_table("report_run")
