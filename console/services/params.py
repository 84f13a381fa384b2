"""List parameters in statements that are built once and run with many values.

A statement built once per shape (the timeline's, the outage banner's) names its values as parameters; a
list of values is one parameter: one array bound as `= ANY` on PostgreSQL (an account's 1,000 numbers are
one value to bind, send and plan, not 1,000), an expanding IN on SQLite.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Integer, String, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY

from ..extensions import db


def among(column, name: str, element: type[Integer] | type[String] = Integer) -> ColumnElement[bool]:
    """SQL: column is one of the values of the list parameter `name` (of `element`s)."""
    if dialect() == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(element)))
    return column.in_(bindparam(name, expanding=True))


def dialect() -> str:
    """The database's dialect: part of the key of a statement built once (the lists bind differently)."""
    return db.session.get_bind().dialect.name
