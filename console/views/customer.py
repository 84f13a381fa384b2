"""Lookup, the customer view, reveal and identity confirmation (issue 3) for operators and supervisors;
the customer's timeline and the outage banner (issue 14)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

from .. import clock, normalise
from ..extensions import db
from ..models import AccountLink, Contract, PortalAccount
from ..services import DomainError, outage_desk
from ..services import accounts as accounts_service
from ..services import contacts as contacts_service
from ..services import customer as customer_service
from ..services import links as links_service
from ..services import lookup as lookup_service
from ..services import timeline as timeline_service
from ..web import plans_reused
from .base import CUSTOMER_ROLES, ConsoleView, apply_change, found_or_404, row_id


class LookupView(ConsoleView):
    """お客さま検索: one box for phone, e-mail, customer/settlement number, name or address."""

    required_roles = CUSTOMER_ROLES

    @expose("/")
    @plans_reused  # its patterns are written into their statements (services/lookup.py)
    def index(self):
        phone = request.args.get("phone")
        query = request.args.get("q", "")
        caller = None
        if phone is not None:
            result = lookup_service.search(current_user, phone, phone_only=True)
            target = lookup_service.screen_pop_target(result)
            # The call's contact starts with the caller's number: on the customer found, or on nobody.
            caller = normalise.phone_digits(phone) or None
            if target is not None:
                kind, target_id = target
                if kind == "account":
                    return redirect(url_for("customer.account", account_id=target_id, caller=caller))
                return redirect(url_for("customer.contract", contract_id=target_id, caller=caller))
            query = phone
        elif query.strip():
            result = lookup_service.search(current_user, query)
        else:
            result = None
        return self.render(
            "customer/lookup.html",
            query=query,
            result=result,
            caller=caller,
            outage_flags=outage_desk.lookup_flags(
                [h.row for h in result.hits if h.kind == "contract" and h.row is not None] if result else [],
                [h.id for h in result.hits if h.kind == "account"] if result else [],
            ),
            masked_location=customer_service.masked_usage_location,
            mask_phone=customer_service.mask_phone,
            mask_email=customer_service.mask_email,
        )


class CustomerPageView(ConsoleView):
    """お客さま情報: one page per account and per contract."""

    required_roles = CUSTOMER_ROLES

    def is_visible(self):
        return False

    def _render(self, view, *, revealed=None, account_page: bool):
        if account_page:
            contact_target = {"account": view.account}
            record_url = url_for("contacts.new", account_id=view.account.id, phone=request.args.get("caller"))
        else:
            contact_target = {"contract": view.panels[0].contract}
            record_url = url_for("contacts.new", contract_id=view.panels[0].contract.id,
                                 phone=request.args.get("caller"))
        contact_page = contacts_service.for_customer(current_user, before=request.args.get("contacts_before"),
                                                     **contact_target)

        def reveal_url(contract):
            if account_page:
                return url_for(".reveal_account", account_id=view.account.id)
            return url_for(".reveal_contract", contract_id=contract.id)

        contracts = [p.contract for p in view.panels]
        if account_page:
            timeline_url = url_for(".account_timeline", account_id=view.account.id)
        else:
            timeline_url = url_for(".contract_timeline", contract_id=contracts[0].id)
        return self.render(
            "customer/view.html",
            view=view,
            outage_alerts=outage_desk.outage_alerts(contracts),
            # The contact form (応対履歴) starts prefilled for this outage.
            outage_contact_url=lambda notice_id: url_for(
                "contacts.new", category="disaster", outage=notice_id,
                **({"account_id": view.account.id} if account_page else {"contract_id": contracts[0].id})),
            timeline=timeline_service.page(timeline_service.Scope.of(view.account if account_page else None,
                                                                     contracts)),
            timeline_url=timeline_url,
            revealed=revealed or {},
            reveal_url=reveal_url,
            today=clock.today(),
            identity_methods=customer_service.IDENTITY_METHODS,
            audit_panel_days=customer_service.AUDIT_PANEL_DAYS,
            revealable=customer_service.REVEALABLE,
            mask_phone=customer_service.mask_phone,
            mask_email=customer_service.mask_email,
            mask_all=customer_service.mask_all,
            masked_location=customer_service.masked_usage_location,
            contact_page=contact_page,
            record_contact_url=record_url,
            caller=request.args.get("caller"),
        )

    @expose("/")
    def index(self):
        return redirect(url_for("lookup.index"))

    def _page(self, load, record_id: int, *, account_page: bool):
        """The 360° page of one account or contract; one the service refuses is a 404."""
        view = found_or_404(lambda: load(current_user, record_id, today=clock.today()))
        return self._render(view, account_page=account_page)

    @expose("/account/<int:account_id>")
    @plans_reused
    def account(self, account_id: int):
        return self._page(lambda actor, record_id, **keys: customer_service.view_account(
            actor, record_id, numbers_q=request.args.get("numbers_q"),
            numbers_page=request.args.get("numbers_page", 1, type=int), **keys), account_id, account_page=True)

    @expose("/contract/<int:contract_id>")
    @plans_reused
    def contract(self, contract_id: int):
        return self._page(customer_service.view_contract, contract_id, account_page=False)

    @expose("/contract/<int:contract_id>/bills")
    @plans_reused
    def bills(self, contract_id: int):
        """A contract's older bills, a year at a time."""
        try:
            before = customer_service.parse_month(request.args.get("before"))
        except DomainError as refused:
            abort(400, refused.message)
        page = found_or_404(lambda: customer_service.contract_bills(current_user, contract_id, before=before,
                                                                     today=clock.today()))
        return self.render("customer/bills.html", page=page)

    def _timeline(self, **record):
        cursor = timeline_service.Cursor.parse(request.args.get("before"))
        view = found_or_404(lambda: timeline_service.view_timeline(current_user, cursor=cursor, **record))
        if view.account is not None:
            back = url_for(".account", account_id=view.account.id)
            here = url_for(".account_timeline", account_id=view.account.id)
        else:
            back = url_for(".contract", contract_id=view.contract.id)
            here = url_for(".contract_timeline", contract_id=view.contract.id)
        return self.render("customer/timeline.html", view=view, timeline=view.page, back_url=back, timeline_url=here)

    @expose("/account/<int:account_id>/timeline")
    @plans_reused
    def account_timeline(self, account_id: int):
        return self._timeline(account_id=account_id)

    @expose("/contract/<int:contract_id>/timeline")
    @plans_reused
    def contract_timeline(self, contract_id: int):
        return self._timeline(contract_id=contract_id)

    @expose("/account/<int:account_id>/identity", methods=["POST"])
    def identity(self, account_id: int):
        account = db.get_or_404(PortalAccount, account_id)
        apply_change(lambda: customer_service.confirm_identity(
            current_user, account, request.form.get("method", ""), request.form.get("note")), "本人確認を記録しました。")
        return redirect(url_for(".account", account_id=account_id))

    @expose("/account/<int:account_id>/reveal", methods=["POST"])
    def reveal_account(self, account_id: int):
        account = db.get_or_404(PortalAccount, account_id)
        contract = None
        if row_id(request.form.get("contract_id")) is not None:
            contract = db.session.get(Contract, row_id(request.form.get("contract_id")))
            if contract is None or not customer_service.account_holds(account, contract):
                abort(404)
        return self._reveal(account, contract, lambda: customer_service.view_account(
            current_user, account_id, today=clock.today()), url_for(".account", account_id=account_id), True)

    @expose("/contract/<int:contract_id>/reveal", methods=["POST"])
    def reveal_contract(self, contract_id: int):
        contract = db.get_or_404(Contract, contract_id)
        return self._reveal(None, contract, lambda: customer_service.view_contract(
            current_user, contract_id, today=clock.today()), url_for(".contract", contract_id=contract_id), False)

    @expose("/account/<int:account_id>/unlock", methods=["POST"])
    def unlock(self, account_id: int):
        account = db.get_or_404(PortalAccount, account_id)
        apply_change(lambda: accounts_service.unlock_account(current_user, account, request.form.get("reason", "")),
                     "ロックを解除しました。")
        return redirect(url_for(".account", account_id=account_id))

    @expose("/account/<int:account_id>/password-reset", methods=["POST"])
    def password_reset(self, account_id: int):
        account = db.get_or_404(PortalAccount, account_id)
        apply_change(lambda: accounts_service.request_password_reset(
            current_user, account, request.form.get("reason", "")), "パスワード再設定メールの送信を受け付けました。")
        return redirect(url_for(".account", account_id=account_id))

    @expose("/account/<int:account_id>/links/add", methods=["POST"])
    def add_link(self, account_id: int):
        account = db.get_or_404(PortalAccount, account_id)
        form = request.form
        done, result = apply_change(lambda: links_service.add_on_behalf(
            current_user, account, customer_number=form.get("customer_number", ""),
            settlement_number=form.get("settlement_number", ""), phone=form.get("phone", ""),
            usage_location=form.get("usage_location", ""), bank_last4=form.get("bank_last4", ""),
            reason=form.get("reason", ""),
        ), "お客さま番号を登録しました。")
        if done and result[1]:
            flash(result[1], "warning")
        return redirect(url_for(".account", account_id=account_id))

    @expose("/account/<int:account_id>/links/<int:link_id>/<action>", methods=["POST"])
    def change_link(self, account_id: int, link_id: int, action: str):
        link = db.get_or_404(AccountLink, link_id)
        if link.account_id != account_id or action not in ("remove", "main"):
            abort(404)
        if action == "remove":
            apply_change(lambda: links_service.unlink(current_user, link, request.form.get("reason", "")),
                         "お客さま番号の登録を解除しました。")
        else:
            apply_change(lambda: links_service.set_main(current_user, link.account, link.contract),
                         "メインのお客さま番号を変更しました。")
        return redirect(url_for(".account", account_id=account_id))

    def _reveal(self, account, contract, load_view, back_url, account_page):
        field_name = request.form.get("field", "")
        done, value = apply_change(lambda: customer_service.reveal(
            current_user, field_name=field_name, reason=request.form.get("reason", ""),
            account=account, contract=contract,
        ))
        if not done:
            return redirect(back_url)
        view = load_view()
        key = f"{field_name}:{contract.id}" if contract is not None else field_name
        return self._render(view, revealed={key: value}, account_page=account_page)


class RegistrationCheckView(ConsoleView):
    """登録トラブル確認 (R2): which of the values the customer typed match, without showing stored values."""

    required_roles = CUSTOMER_ROLES

    @expose("/", methods=["GET", "POST"])
    def index(self):
        result = None
        form = {name: request.form.get(name, "") for name in accounts_service.CHECK_FIELDS}
        if request.method == "POST":
            if not form["customer_number"].strip():
                flash("お客さま番号を入力してください。", "error")
            else:
                result = accounts_service.check_registration(current_user, **form)
        return self.render(
            "customer/registration_check.html",
            form=form,
            result=result,
            fields=accounts_service.CHECK_FIELDS,
            outcome_labels=accounts_service.OUTCOME_LABELS,
        )
