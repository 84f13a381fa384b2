"""The audit trail partitioned by month on PostgreSQL (issue 17): ≈ 8.6 M rows a day at 100 requests/s.

The table as it was becomes the first partition (audit_event_legacy: every row up to the end of this
month), so no row is copied; monthly partitions follow (Japan months), and a DEFAULT partition catches a
row that arrives before its month's partition exists. console.services.audit_partitions creates
partitions ahead (a scheduled job) and detaches old ones to the audit_archive schema (a command). The
append-only rule holds on every partition: the row trigger is cloned to each one by PostgreSQL and the
TRUNCATE trigger is created on each. The "who viewed" query gets (target_type, target_id, at).
SQLite (the embedded default) keeps one table and gains only the index.

Revision ID: 0016_audit_partitions
Revises: 0015_list_indexes
"""

from datetime import UTC, datetime

from alembic import op
from sqlalchemy import text

revision = "0016_audit_partitions"
down_revision = "0015_list_indexes"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_audit_event_action_at": "(action, at)",
    "ix_audit_event_at": "(at)",
    "ix_audit_event_customer_at": "(customer_number, at)",
    "ix_audit_event_staff_at": "(staff_id, at)",
    "ix_audit_event_target_at": "(target_type, target_id, at)",
}


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        op.drop_index("ix_audit_event_target", table_name="audit_event")
        op.create_index("ix_audit_event_target_at", "audit_event", ["target_type", "target_id", "at"])
        return
    from console import clock
    from console.services import audit_partitions

    latest = bind.execute(text("SELECT max(at) FROM audit_event")).scalar()
    newest = max(clock.now(), latest.astimezone(UTC) if latest else datetime.min.replace(tzinfo=UTC))
    bound = audit_partitions.next_month(audit_partitions.month_of(newest))
    op.execute("DROP TRIGGER audit_event_no_change ON audit_event")
    op.execute("DROP TRIGGER audit_event_no_truncate ON audit_event")
    op.execute("ALTER TABLE audit_event RENAME TO audit_event_legacy")
    op.execute("ALTER TABLE audit_event_legacy DROP CONSTRAINT pk_audit_event")  # ATTACH builds (id, at)
    op.execute("ALTER TABLE audit_event_legacy DROP CONSTRAINT fk_audit_event_staff_id_staff")
    for name in ("ix_audit_event_action_at", "ix_audit_event_at", "ix_audit_event_customer_at",
                 "ix_audit_event_staff_at", "ix_audit_event_target"):
        op.execute(f"ALTER INDEX {name} RENAME TO {name}_legacy")
    op.execute("CREATE TABLE audit_event (LIKE audit_event_legacy INCLUDING DEFAULTS) PARTITION BY RANGE (at)")
    op.execute("ALTER SEQUENCE audit_event_id_seq OWNED BY audit_event.id")
    op.execute("ALTER TABLE audit_event ADD CONSTRAINT pk_audit_event PRIMARY KEY (id, at)")
    op.execute("ALTER TABLE audit_event ADD CONSTRAINT fk_audit_event_staff_id_staff "
               "FOREIGN KEY (staff_id) REFERENCES staff (id)")
    for name, columns in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON audit_event {columns}")
    op.execute("CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
               "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()")
    op.execute("CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
               "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()")
    op.execute("DROP INDEX ix_audit_event_target_legacy")
    op.execute(f"ALTER TABLE audit_event ATTACH PARTITION audit_event_legacy "
               f"FOR VALUES FROM (MINVALUE) TO ('{audit_partitions.bound_literal(bound)}')")
    audit_partitions.guard_truncate(bind, "audit_event_legacy")
    audit_partitions.create_default(bind)
    audit_partitions.ensure_partitions_on(bind, bound, months_ahead=audit_partitions.DEFAULT_AHEAD)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        op.drop_index("ix_audit_event_target_at", table_name="audit_event")
        op.create_index("ix_audit_event_target", "audit_event", ["target_type", "target_id"])
        return
    op.execute("ALTER TABLE audit_event RENAME TO audit_event_partitioned")
    op.execute("DROP TRIGGER audit_event_no_change ON audit_event_partitioned")
    op.execute("DROP TRIGGER audit_event_no_truncate ON audit_event_partitioned")
    op.execute("ALTER TABLE audit_event_partitioned DROP CONSTRAINT pk_audit_event")
    op.execute("ALTER TABLE audit_event_partitioned DROP CONSTRAINT fk_audit_event_staff_id_staff")
    for name in INDEXES:
        op.execute(f"DROP INDEX {name}")
    op.execute("CREATE TABLE audit_event (LIKE audit_event_partitioned INCLUDING DEFAULTS)")
    op.execute("ALTER SEQUENCE audit_event_id_seq OWNED BY audit_event.id")
    op.execute("INSERT INTO audit_event SELECT * FROM audit_event_partitioned")
    op.execute("DROP TABLE audit_event_partitioned CASCADE")
    op.execute("ALTER TABLE audit_event ADD CONSTRAINT pk_audit_event PRIMARY KEY (id)")
    op.execute("ALTER TABLE audit_event ADD CONSTRAINT fk_audit_event_staff_id_staff "
               "FOREIGN KEY (staff_id) REFERENCES staff (id)")
    for name, columns in INDEXES.items():
        if name != "ix_audit_event_target_at":
            op.execute(f"CREATE INDEX {name} ON audit_event {columns}")
    op.execute("CREATE INDEX ix_audit_event_target ON audit_event (target_type, target_id)")
    op.execute("CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
               "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()")
    op.execute("CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
               "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()")
