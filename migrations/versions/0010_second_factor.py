"""The staff sign-in's second factor (issue 16): a TOTP secret per member with the time it was enrolled,
the last time step accepted and the wrong codes in a row; ten hashed one-time recovery codes per member.

Revision ID: 0010_second_factor
Revises: 0009_name_keys_itaiji
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_second_factor"
down_revision = "0009_name_keys_itaiji"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("totp_enrolled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("second_factor_failures", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "staff_recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_staff_recovery_code_staff_id_staff"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_recovery_code")),
    )
    with op.batch_alter_table("staff_recovery_code") as batch:
        batch.create_index(batch.f("ix_staff_recovery_code_staff_id"), ["staff_id"], unique=False)


def downgrade():
    op.drop_table("staff_recovery_code")
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("second_factor_failures")
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_enrolled_at")
        batch.drop_column("totp_secret")
