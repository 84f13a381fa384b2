"""The list of currently locked portal accounts (R7)."""

from __future__ import annotations

from flask import url_for
from flask_login import current_user
from markupsafe import Markup, escape

from ..formats import jdatetime
from ..models import PortalAccount
from ..services import accounts
from ..services.customer import mask_email
from .base import CUSTOMER_ROLES, ConsoleModelView


def _open_link(_view, _context, model, _name):
    url = url_for("customer.account", account_id=model.id)
    return Markup(f'<a href="{escape(url)}">#{model.id}</a>')


class LockedAccountView(ConsoleModelView):
    """ロック中のマイページ利用者: newest lock first; unlocking happens on the customer view, with a reason."""

    required_roles = CUSTOMER_ROLES
    can_view_details = False
    column_list = ["id", "name", "email", "locked_at", "failed_login_count"]
    column_labels = {
        "id": "利用者",
        "name": "氏名",
        "email": "メールアドレス",
        "locked_at": "ロック日時",
        "failed_login_count": "パスワード誤り回数",
    }
    column_formatters = {
        "id": _open_link,
        "email": lambda _v, _c, model, _n: mask_email(model.email),
        "locked_at": lambda _v, _c, model, _n: jdatetime(model.locked_at),
    }
    column_default_sort = ("locked_at", True)
    column_sortable_list = ["locked_at", "failed_login_count"]

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        count, rows = super().get_list(page, sort_column, sort_desc, search, filters, execute, page_size)
        if execute:
            accounts.view_locked_accounts(current_user, list(rows), page=page or 0)
        return count, rows

    def get_query(self):
        return super().get_query().filter(PortalAccount.locked_at.is_not(None))

    def get_count_query(self):
        return super().get_count_query().filter(PortalAccount.locked_at.is_not(None))
