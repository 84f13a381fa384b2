"""契約一覧・請求一覧: the big tables page by page (keyset pages, no counting)."""

from __future__ import annotations

from flask import request
from flask_admin import expose
from flask_login import current_user

from .. import clock
from ..models import PaymentMethod
from ..services import listing
from ..services.customer import mask_phone, masked_usage_location
from ..wards import WARDS
from .base import CUSTOMER_ROLES, ConsoleView, apply_change


def _listed(filter_class, load):
    """The filters from the query string and one keyset page; an empty page when the service refused them."""

    def run():
        filters = filter_class.parse(request.args)
        return filters, load(filters, after=request.args.get("after"), before=request.args.get("before"))

    done, result = apply_change(run)
    # A refusal keeps what was typed in the form, beside the message that says what to change.
    return result if done else (filter_class.as_typed(request.args), listing.Page([], None, None))


class ContractListView(ConsoleView):
    """契約一覧: filter by ward, town, state and payment method; newest first."""

    required_roles = CUSTOMER_ROLES

    @expose("/")
    def index(self):
        filters, page = _listed(listing.ContractFilter, lambda filters, **keys: listing.list_contracts(
            current_user, filters, today=clock.today(), **keys))
        return self.render("listing/contracts.html", page=page, filters=filters, wards=WARDS,
                           methods=PaymentMethod, masked_location=masked_usage_location, mask_phone=mask_phone,
                           today=clock.today())


class BillListView(ConsoleView):
    """請求一覧: filter by month, payment status and customer number; newest first."""

    required_roles = CUSTOMER_ROLES

    @expose("/")
    def index(self):
        filters, page = _listed(listing.BillFilter, lambda filters, **keys: listing.list_bills(
            current_user, filters, **keys))
        return self.render("listing/bills.html", page=page, filters=filters)
