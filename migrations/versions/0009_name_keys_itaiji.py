"""Name keys fold old and variant kanji (issue 15): 髙橋 and 高橋, 齋藤 and 斎藤, 﨑山 and 崎山 get one key.

`normalise.name_key` now folds variants (ja-itaiji) and converts kana with jaconv, so every stored key
that derives from a name or its reading is computed again with it: contract.holder_name_key and
holder_kana_key, portal_account.name_key and name_kana_key. Rows are read in id order, BATCH_SIZE at a
time (keyset, never the whole table: 1.5 M contracts at city scale), and only rows whose key changes are
written, so the work is mostly reading. The same code runs on PostgreSQL and SQLite. Measured on the
city-scale benchmark database (2 cores, busy): 100,000 contracts read and keyed in ≈ 5 s, so ≈ 2 minutes
for 1.5 M contracts and 600 k accounts.

Revision ID: 0009_name_keys_itaiji
Revises: 0008_staff_locked_mail
"""

import sqlalchemy as sa
from alembic import op

from console import normalise

revision = "0009_name_keys_itaiji"
down_revision = "0008_staff_locked_mail"
branch_labels = None
depends_on = None

BATCH_SIZE = 5000

# table → {key column: the column it is computed from}; the models' validators set the same keys.
NAME_KEYS = {
    "contract": {"holder_name_key": "holder_name", "holder_kana_key": "holder_kana"},
    "portal_account": {"name_key": "name", "name_kana_key": "name_kana"},
}
# portal_account keeps NULL for no name (PortalAccount: `name_key(value) or None`); contract's are NOT NULL.
NULLABLE = {"portal_account"}


def _key(table: str, value):
    key = normalise.name_key(value)
    return (key or None) if table in NULLABLE else key


def rebuild_name_keys(connection, batch_size: int = BATCH_SIZE) -> int:
    """Recompute every name key with the current `normalise.name_key`, batch by batch; returns the
    number of rows changed."""
    changed = 0
    for table_name, keys in NAME_KEYS.items():
        table = sa.table(table_name, sa.column("id"), *(sa.column(c) for c in [*keys, *keys.values()]))
        last_id = 0
        while True:
            rows = connection.execute(
                sa.select(table.c.id, *(table.c[c] for c in keys), *(table.c[c] for c in keys.values()))
                .where(table.c.id > last_id).order_by(table.c.id).limit(batch_size)
            ).mappings().all()
            if not rows:
                break
            updates = []
            for row in rows:
                new = {key: _key(table_name, row[source]) for key, source in keys.items()}
                if any(new[key] != row[key] for key in keys):
                    updates.append({"row_id": row["id"], **{f"new_{key}": value for key, value in new.items()}})
            if updates:
                connection.execute(
                    table.update().where(table.c.id == sa.bindparam("row_id"))
                    .values({key: sa.bindparam(f"new_{key}") for key in keys}),
                    updates,
                )
                changed += len(updates)
            last_id = rows[-1]["id"]
    return changed


def upgrade():
    rebuild_name_keys(op.get_bind())


def downgrade():
    # Nothing to undo: a folded key is still a key the previous code can match (it stores 高橋 for 高橋,
    # and 髙橋's folded key 高橋 is found by a query for 高橋); new rows get the previous code's keys.
    pass
