"""Staff sign-ins as server-side records (issue 16): the staff_session table; the per-member session token
that rotating used to end every session at once goes, since each sign-in now ends on its own.

Revision ID: 0011_staff_sessions
Revises: 0010_second_factor
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_staff_sessions"
down_revision = "0010_second_factor"
branch_labels = None
depends_on = None

REASONS = ("signed_out", "idle", "ended_by_self", "ended_by_admin", "password_changed", "password_set",
           "roles_changed", "disabled", "locked", "second_factor_reset")


def upgrade():
    op.create_table(
        "staff_session",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("key_digest", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_addr", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=400), nullable=True),
        sa.Column("device", sa.String(length=100), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by_id", sa.Integer(), nullable=True),
        sa.Column("end_reason", sa.Enum(*REASONS, name="sessionendreason", native_enum=False, create_constraint=True,
                                        length=max(map(len, REASONS)) + 8), nullable=True),
        sa.CheckConstraint("(ended_at IS NULL) = (end_reason IS NULL)", name=op.f("ck_staff_session_ended_with_reason")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_staff_session_staff_id_staff"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ended_by_id"], ["staff.id"], name=op.f("fk_staff_session_ended_by_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_session")),
        sa.UniqueConstraint("key_digest", name=op.f("uq_staff_session_key_digest")),
    )
    op.create_index("ix_staff_session_staff_ended", "staff_session", ["staff_id", "ended_at"], unique=False)
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("session_token")


def downgrade():
    # Every member gets the same placeholder token, which no cookie of the older code holds: all sign in again.
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("session_token", sa.String(length=32), nullable=False,
                                   server_default="signed-out-by-downgrade"))
    with op.batch_alter_table("staff") as batch:
        batch.alter_column("session_token", server_default=None)
    op.drop_index("ix_staff_session_staff_ended", table_name="staff_session")
    op.drop_table("staff_session")
