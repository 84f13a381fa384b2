"""Column types, whole-column declarations, mixins and helpers shared by every model module."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from sqlalchemy import BigInteger, DateTime, Enum, ForeignKey, Index, Integer, text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship, validates
from sqlalchemy.types import TypeDecorator

from .. import clock
from ..extensions import db

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a real bigint for big tables.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC and always returns aware UTC datetimes, on both engines."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        # SQLite has no timezone type: keep naive UTC there.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Every `Mapped[datetime]` column is a UTCDateTime: the models declare their moments by annotation alone.
db.Model.registry.update_type_annotation_map({datetime: UTCDateTime()})

# Whole column declarations, used as `id: Mapped[IntPk]` or `decided_by_id: Mapped[StaffId | None]`.
IntPk = Annotated[int, mapped_column(primary_key=True)]
BigPk = Annotated[int, mapped_column(BigId, primary_key=True)]
# The moment the row is written, unless it is given.
Timestamp = Annotated[datetime, mapped_column(default=clock.now)]
# The member of staff who did something (a foreign key to staff.id).
StaffId = Annotated[int, mapped_column(ForeignKey("staff.id"))]


class Decided:
    """Mixin of a request that a member of staff decides once: when and by whom (unset while it waits)."""

    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[StaffId | None]

    @declared_attr
    def decided_by(cls) -> Mapped["Staff | None"]:  # noqa: F821
        # By name: the table may have other columns that refer to staff.
        return relationship(foreign_keys=f"{cls.__name__}.decided_by_id")


def str_enum(enum_cls: type[StrEnum], name: str | None = None) -> Enum:
    """A VARCHAR column holding the enum's values, guarded by a CHECK constraint on both engines.

    The CHECK is named after the enum; a second column of the same enum in one table needs its own name.
    """
    return Enum(
        enum_cls,
        name=name or enum_cls.__name__.lower(),
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls) + 8,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def partial_index(name: str, *columns: str, where: str, **kw) -> Index:
    """An index of the rows that match `where` only, partial on PostgreSQL and SQLite alike."""
    return Index(name, *columns, postgresql_where=text(where), sqlite_where=text(where), **kw)


def sets_key(source: str, key: str, make_key: Callable[[str | None], str], *, blank_as_null: bool = False):
    """A validator: setting the attribute `source` also sets the search column `key` to make_key(value)
    (to NULL rather than "" with blank_as_null)."""

    @validates(source)
    def set_key(self, _name, value):
        made = make_key(value)
        setattr(self, key, (made or None) if blank_as_null else made)
        return value

    return set_key


class LabelledEnum(StrEnum):
    """A StrEnum whose members carry their Japanese label: `MEMBER = "value", "ラベル"`; `.label` reads it.

    Pages, reports and the audit log all take the word from here, so they say the same word.
    """

    label: str

    def __new__(cls, value: str, label: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def label_of(cls, value: str | None) -> str:
        """The label of a member or of its stored value; "" for None (an unknown value raises ValueError)."""
        return "" if value is None or value == "" else cls(value).label

    @classmethod
    def labels(cls) -> dict:
        """{member: label} in definition order, for templates that look a label up or list them all."""
        return {m: m.label for m in cls}

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(value, label) pairs in definition order, for select boxes and filters."""
        return [(m.value, m.label) for m in cls]


def render_migration_item(type_, obj, autogen_context):
    """Alembic autogenerate hook: write UTCDateTime as a plain timezone-aware DateTime."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False
