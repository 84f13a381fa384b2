"""契約一覧・請求一覧: the big tables page by page (keyset pages, no counting)."""

from __future__ import annotations

from flask import flash, request
from flask_admin import expose
from flask_login import current_user

from .. import clock
from ..extensions import db
from ..models import PaymentMethod
from ..services import DomainError, listing
from ..services.customer import mask_phone, masked_usage_location
from ..wards import WARDS
from .base import CUSTOMER_ROLES, ConsoleView


class ContractListView(ConsoleView):
    """契約一覧: filter by ward, town, state and payment method; newest first."""

    required_roles = CUSTOMER_ROLES

    @expose("/")
    def index(self):
        try:
            filters = listing.ContractFilter.parse(request.args)
            page = listing.list_contracts(current_user, filters, after=request.args.get("after"),
                                          before=request.args.get("before"), today=clock.today())
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            filters, page = listing.ContractFilter(), listing.Page([], None, None)
        db.session.commit()
        return self.render("listing/contracts.html", page=page, filters=filters, wards=WARDS,
                           methods=PaymentMethod, masked_location=masked_usage_location, mask_phone=mask_phone,
                           today=clock.today())


class BillListView(ConsoleView):
    """請求一覧: filter by month, payment status and customer number; newest first."""

    required_roles = CUSTOMER_ROLES

    @expose("/")
    def index(self):
        try:
            filters = listing.BillFilter.parse(request.args)
            page = listing.list_bills(current_user, filters, after=request.args.get("after"),
                                      before=request.args.get("before"))
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            filters, page = listing.BillFilter(), listing.Page([], None, None)
        db.session.commit()
        return self.render("listing/bills.html", page=page, filters=filters)
