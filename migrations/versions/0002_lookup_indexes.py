"""Lookup indexes (PostgreSQL): trigram GIN for partial phone/name/address, pattern btrees for prefixes.

SQLite (the embedded default) keeps the plain btrees of 0001; partial matches scan there, which the
demo's few hundred contracts do not notice.

Revision ID: 0002_lookup_indexes
Revises: 0001_initial
"""

from alembic import op

revision = "0002_lookup_indexes"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

TRIGRAM = {
    "contract": ["contract_phone_digits", "holder_name_key", "holder_kana_key", "usage_address_key"],
    "portal_account": ["sms_phone_digits", "email_key", "name_key", "name_kana_key"],
}
# Prefix matches (LIKE 'x%') whatever the database collation; two-character names need these too,
# because trigram indexes do not serve patterns shorter than three characters.
PATTERN = {
    "contract": ["customer_number", "settlement_number", "holder_name_key", "holder_kana_key"],
    "portal_account": ["name_key", "name_kana_key"],
}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, columns in TRIGRAM.items():
        for column in columns:
            op.execute(f"CREATE INDEX ix_{table}_{column}_trgm ON {table} USING gin ({column} gin_trgm_ops)")
    for table, columns in PATTERN.items():
        for column in columns:
            op.execute(f"CREATE INDEX ix_{table}_{column}_pattern ON {table} ({column} varchar_pattern_ops)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in TRIGRAM.items():
        for column in columns:
            op.execute(f"DROP INDEX ix_{table}_{column}_trgm")
    for table, columns in PATTERN.items():
        for column in columns:
            op.execute(f"DROP INDEX ix_{table}_{column}_pattern")
