"""Input hygiene at the boundary, once for every request: control characters and ids out of range
are refused before any view, service or database sees them (issue 13)."""

from __future__ import annotations

import re

from flask import Flask, abort, request
from sqlalchemy import BigInteger, Integer
from werkzeug.routing import IntegerConverter

# The id columns' ranges: PostgreSQL's integer (most tables) and bigint (BigId: audit, bills, deliveries).
MAX_INTEGER = 2**31 - 1
MAX_BIGINT = 2**63 - 1

# Unicode's control characters (C0, DEL, C1). PostgreSQL refuses NUL in text, and CR/LF in a value
# that becomes a header (a redirect target) is a server error; none of them is typed by a person.
# A textarea submits its line breaks as CR LF, and a value pasted from a spreadsheet carries tabs.
_CONTROL_IN_FORM = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# In a URL (path or query string) only a tab passes: no input field of the console submits a line
# break by GET, and a redirect target (?url=, ?next=) with one would break the Location header.
_CONTROL_IN_URL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")

REFUSED = "入力に使えない制御文字が含まれています。入力し直してください。"


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: an id beyond the id column's range names no row (404), it never reaches
    the database (where it would overflow the column's type: a server error). Every `<int:…>` route names
    a row of an integer id column; one naming a BigId row would say `<int(max=MAX_BIGINT):…>`."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_INTEGER, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def id_in_range(raw, column_type) -> int | None:
    """A row id given as text (e.g. Flask-Admin's ?id=): the int if it fits the id column's type, else None."""
    text = str(raw if raw is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or not isinstance(column_type, Integer):
        return None
    value = int(text)
    return value if value <= (MAX_BIGINT if isinstance(column_type, BigInteger) else MAX_INTEGER) else None


def has_control(value: str, *, in_url: bool = False) -> bool:
    """Whether a submitted value holds a control character the console does not take."""
    return bool((_CONTROL_IN_URL if in_url else _CONTROL_IN_FORM).search(value))


def _refuse_control_characters() -> None:
    if has_control(request.path, in_url=True):
        abort(400, description=REFUSED)
    for key, value in request.args.items(multi=True):
        if has_control(key, in_url=True) or has_control(value, in_url=True):
            abort(400, description=REFUSED)
    if request.method in ("POST", "PUT", "PATCH"):
        for key, value in request.form.items(multi=True):
            if has_control(key) or has_control(value):
                abort(400, description=REFUSED)


def configure_boundary(app: Flask) -> None:
    """Register the id converter (before any route is added) and the control-character check."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(_refuse_control_characters)
