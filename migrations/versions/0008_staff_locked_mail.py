"""A mail kind for the member of staff whose account locked (issue 16): the CHECK on notification.kind
takes the new value.

Revision ID: 0008_staff_locked_mail
Revises: 0007_lookup_indexes_more
"""

from alembic import op

revision = "0008_staff_locked_mail"
down_revision = "0007_lookup_indexes_more"
branch_labels = None
depends_on = None

OLD = ("start_accepted", "start_rejected", "password_reset", "link_released", "outage")
NEW = OLD + ("staff_locked",)


def _kinds(values) -> str:
    return "kind IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _replace(values) -> None:
    # batch: SQLite rebuilds the table, PostgreSQL alters it in place.
    with op.batch_alter_table("notification") as batch:
        batch.drop_constraint(op.f("ck_notification_notificationkind"), type_="check")
        batch.create_check_constraint(op.f("ck_notification_notificationkind"), _kinds(values))


def upgrade():
    _replace(NEW)


def downgrade():
    op.execute("DELETE FROM delivery WHERE notification_id IN (SELECT id FROM notification WHERE kind = 'staff_locked')")
    op.execute("DELETE FROM notification WHERE kind = 'staff_locked'")
    _replace(OLD)
