"""Statements over many values: list parameters, and the newest rows of many keys.

A statement built once per shape (the timeline's, the outage banner's) names its values as parameters; a
list of values is one parameter: one array bound as `= ANY` on PostgreSQL (an account's 1,000 numbers are
one value to bind, send and plan, not 1,000), an expanding IN on SQLite.

The newest rows of a customer over many keys (a company's numbers, its account) are one newest-first index
walk per key, each limited, merged: an OR or an IN over the keys ordered by date is planned as a walk of
the whole table by date (20 s for a company's contacts), or a read of every matching row before the sort.
"""

from __future__ import annotations

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    any_,
    bindparam,
    func,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY

from ..extensions import db

# The customer's keys, as every statement built once for many customers names them (the timeline's, the
# contacts panel's): one name each, so a statement one module builds runs with the values another passes.
ACCOUNT_ID, CONTRACT_IDS = "account_id", "contract_ids"


def list_param(name: str, element: type[Integer] | type[String] = Integer):
    """A parameter that takes a list of `element`s: an array on PostgreSQL, an expanding list on SQLite."""
    if dialect() == "postgresql":
        return bindparam(name, type_=ARRAY(element))
    return bindparam(name, expanding=True)


def among(column, name: str, element: type[Integer] | type[String] = Integer) -> ColumnElement[bool]:
    """SQL: column is one of the values of the list parameter `name` (of `element`s)."""
    param = list_param(name, element)
    return column == any_(param) if dialect() == "postgresql" else column.in_(param)


def planned_for(value) -> ColumnElement:
    """A value that decides a statement's plan, written into the statement: PostgreSQL plans it for this
    value even on a page whose plans are reused (web.plans_reused). A LIKE pattern bound as a parameter is
    planned for any pattern, a read of the whole index; a LIMIT bound as a parameter is guessed at a tenth
    of the rows (a town's first contract: 5.9 ms instead of 0.04). Quoted by SQLAlchemy as any literal is."""
    return literal(value, literal_execute=True)


def dialect() -> str:
    """The database's dialect: part of the key of a statement built once (the lists bind differently)."""
    return db.session.get_bind().dialect.name


def walk(columns, at_column, id_column, *conditions, limit: int) -> Select:
    """The newest `limit` rows (of `columns`) that meet the conditions, newest first: one index walk."""
    return select(*columns).where(*conditions).order_by(at_column.desc(), id_column.desc()).limit(limit)


def walk_each(key_column, keys, columns, at_column, id_column, *conditions, limit: int) -> Select:
    """The newest `limit` rows of each key (key_column = each of `keys`, a list parameter or bound list) that
    meet the conditions: a LATERAL walk per key on PostgreSQL; on SQLite one walk over them all."""
    if dialect() != "postgresql":
        return walk(columns, at_column, id_column, key_column.in_(keys), *conditions, limit=limit)
    each = func.unnest(keys).table_valued("key").render_derived("k")
    per_key = walk(columns, at_column, id_column, key_column == each.c.key, *conditions, limit=limit).lateral("per_key")
    return select(*per_key.c).select_from(each).join(per_key, true())


def newest_of(walks: list[Select], limit: int) -> Select:
    """The newest `limit` rows of several walks of the same columns, (id, at) first, newest first, each row
    once (a row two walks find, e.g. on the account and on one of its numbers, counts once)."""
    merged = union_all(*(select(w.subquery()) for w in walks)).subquery()  # UNION ALL: no sort of its own
    id_, at = merged.c[0], merged.c[1]
    return select(*merged.c).distinct().order_by(at.desc(), id_.desc()).limit(limit)
