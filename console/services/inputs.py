"""Free text given to a service: normalised (NFKC, trimmed), present when required, and no longer than
the column that stores it, with a Japanese message (issue 13). The limit is read from the column, so
a form, the CLI and a job cannot differ from the database."""

from __future__ import annotations

from .. import normalise
from . import DomainError

# A Text column has no length of its own; a note, reason or notice body longer than this is a paste gone wrong.
TEXT_MAX_LENGTH = 4000


def max_length(column) -> int:
    """The most characters a mapped column (e.g. NameChange.note) takes: its String length, or TEXT_MAX_LENGTH."""
    return getattr(column.type, "length", None) or TEXT_MAX_LENGTH


def within_column(text: str, *, column, label: str, field: str | None = None) -> str:
    """The text as given, refused when longer than the column (e.g. NameChange.note) that will store it."""
    limit = max_length(column)
    if len(text) > limit:
        raise DomainError(f"{label}は{limit}文字以内で入力してください。", field=field or column.key)
    return text


def optional_text(value: str | None, *, column, label: str, field: str | None = None, kana: bool = False) -> str | None:
    """The normalised text (katakana when `kana`), None when empty; refused when longer than its column."""
    text = normalise.katakana(value) if kana else normalise.nfkc(value)
    return within_column(text, column=column, label=label, field=field) or None


def require_text(value: str | None, *, column, label: str, field: str | None = None, kana: bool = False) -> str:
    """The normalised text (katakana when `kana`); refused when empty or longer than its column."""
    text = optional_text(value, column=column, label=label, field=field, kana=kana)
    if text is None:
        raise DomainError(f"{label}を入力してください。", field=field or column.key)
    return text
