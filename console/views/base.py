"""The one access check every console page inherits: anonymous → sign-in, wrong role → 403."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, flash, g, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla import filters as sqla_filters
from flask_admin.model import filters as model_filters
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import Integer
from sqlalchemy import inspect as sa_inspect
from werkzeug.routing import BuildError

from .. import transaction
from ..boundary import REFUSED, has_control, id_in_range
from ..extensions import db
from ..formats import TOKYO
from ..models import Contract, Role, StaffSession
from ..services import DomainError
from ..services import customer as customer_service

CUSTOMER_ROLES = frozenset({Role.OPERATOR, Role.SUPERVISOR})
ANY_ROLE = frozenset(Role)
T = TypeVar("T")


# --- list filters for UTCDateTime columns: what staff type is Japan time, stored values are UTC ---


def _tokyo(cls):
    """A datetime filter class whose typed values are read as Asia/Tokyo."""

    def clean(self, value):
        cleaned = super(subclass, self).clean(value)
        if isinstance(cleaned, list):
            return [v.replace(tzinfo=TOKYO) for v in cleaned]
        return cleaned.replace(tzinfo=TOKYO)

    subclass = type(f"Tokyo{cls.__name__}", (cls,), {"clean": clean})
    return subclass


TOKYO_DATETIME_FILTERS = tuple(
    _tokyo(f) if f is not sqla_filters.FilterEmpty else f for f in sqla_filters.FilterConverter.datetime_filters
)


class ConsoleFilterConverter(sqla_filters.FilterConverter):
    """Flask-Admin's converter, taught our UTCDateTime column type."""

    @model_filters.convert("UTCDateTime")
    def conv_utc_datetime(self, column, name, **kwargs):
        return [f(column, name, **kwargs) for f in TOKYO_DATETIME_FILTERS]


class RoleRequired:
    """Mixin for Flask-Admin views: which roles may open this view at all."""

    required_roles: frozenset[Role] = frozenset()

    def is_accessible(self) -> bool:
        return (
            current_user.is_authenticated
            and bool(self.required_roles)
            and current_user.has_role(*self.required_roles)
        )

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?") if request.method == "GET" else None))
        abort(403)


class ConsoleView(RoleRequired, BaseView):
    """A custom (non-model) console page."""


class ConsoleIndexView(RoleRequired, AdminIndexView):
    """The home page: any signed-in staff member."""

    required_roles = ANY_ROLE


class SecureFlaskForm(FlaskForm):
    """Base of every Flask-Admin form: Flask-WTF's token, the same one CSRFProtect checks."""


class ConsoleModelView(RoleRequired, ModelView):
    """A model list/detail page. Read-only unless a subclass opts in and routes changes through services."""

    form_base_class = SecureFlaskForm
    filter_converter = ConsoleFilterConverter()
    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True
    # Flask-Admin counts every row per page unless told not to (LIBRARY-NOTES: COUNT(*) at a million rows).
    simple_list_pager = True
    # Filter parameters by column (?flt0_customer_number_equals=…), so other pages can link to a
    # filtered list; Flask-Admin's own naming strips the Japanese labels and would collide.
    named_filter_urls = True
    page_size = 50
    can_set_page_size = False
    # Bulk actions check their own permission per action, as Django's admin does.
    action_roles: dict[str, frozenset[Role]] = {}

    def is_action_allowed(self, name: str) -> bool:
        roles = self.action_roles.get(name)
        if roles is not None and not current_user.has_role(*roles):
            return False
        return super().is_action_allowed(name)

    def get_filter_arg(self, index, flt):
        column = getattr(getattr(flt, "column", None), "key", None) or str(index)
        operation = flt.operation()
        operation = getattr(operation, "_args", (operation,))[0]
        return re.sub(r"[^a-z0-9]+", "_", f"{column} {operation}".lower())

    # OFFSET pages get slower the deeper they go, and a page number past 2**63 overflows the database's
    # integer: beyond this page the list asks for a filter instead.
    max_page = 2000

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        if page and page < 0:  # ?page=-1 would be a negative OFFSET: the first page instead
            page = 0
        if page and page >= self.max_page:
            flash(f"{self.max_page}ページより先は表示できません。条件で絞り込んでください。", "warning")
            page = self.max_page - 1
        # ?page_size= is honoured by Flask-Admin even when the selector is hidden (#2430).
        return super().get_list(page, sort_column, sort_desc, search, filters, execute, page_size=self.page_size)

    def get_one(self, id):
        # ?id= is typed by anyone: one that is no id of this table names no row (Flask-Admin then says
        # 「該当するデータがありません」 and goes back to the list); it never reaches the database.
        (key,) = sa_inspect(self.model).primary_key
        value = id_in_range(id, key.type)
        return None if value is None else super().get_one(str(value))

    def _handle_view(self, name, **kwargs):
        # Flask-Admin redirects to ?url= (read from the query or the form): a line break would break the header.
        if has_control(request.values.get("url") or "", in_url=True):
            abort(400, description=REFUSED)
        return super()._handle_view(name, **kwargs)

    def handle_view_exception(self, exc):
        if isinstance(exc, DomainError):
            flash(exc.message, "error")
            return True
        return super().handle_view_exception(exc)


def row_id(raw: str | None) -> int | None:
    """A row id typed into a form (a contract, an account, a member of staff: integer id columns):
    ASCII digits that fit the column, else None."""
    return id_in_range(raw, Integer())


def apply_change(change: Callable[[], Any], success: str | None = None) -> tuple[bool, Any]:
    """Run one service change in this request's transaction and return (True, its result), flashing
    `success`; or roll it back, show its Japanese refusal and return (False, None).

    It does not commit: the request does, once, when the view has answered (console.web)."""
    try:
        result = change()
    except DomainError as exc:
        transaction.rollback()
        flash(exc.message, "error")
        return False, None
    if success:
        flash(success, "success")
    return True, result


def contract_form(contract_id: int, form_name: str, change: Callable[[Contract], Any],
                  success: str | None = None) -> tuple[Contract, bool, Any]:
    """A form about one contract (a name change, a reissue, a stop application): the contract (404 when
    there is none) and, on a POST, the change made with apply_change: (contract, done, its result). A form
    shown (asked for, or refused) shows the holder and address, so it is audited as a view of the contract."""
    contract = db.get_or_404(Contract, contract_id)
    done, result = apply_change(lambda: change(contract), success) if request.method == "POST" else (False, None)
    if not done:
        customer_service.view_contract_form(current_user, contract, form_name)
    return contract, done, result


def url_if_accessible(admin, endpoint: str) -> str | None:
    """The URL of `endpoint` ("view.method") when the signed-in member may open that view and it exists in
    this build, else None: a link shown only to those it leads somewhere for (home's tiles, the "/" key)."""
    view = next((v for v in admin._views if v.endpoint == endpoint.split(".")[0]), None)
    if view is None or not view.is_accessible():
        return None
    try:
        return url_for(endpoint)
    except BuildError:
        return None


def found_or_404(load: Callable[[], T]) -> T:
    """What a service's view_* function answers, or a 404 when it refuses (the record is not one this
    member may open, or there is none)."""
    try:
        return load()
    except DomainError:
        abort(404)


def current_staff_session() -> StaffSession | None:
    """This browser's sign-in record (set when the signed-in member was loaded), or None."""
    return g.get("staff_session")
