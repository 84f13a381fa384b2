"""Contacts (応対履歴), follow-ups (対応待ち) and their categories (issue 14)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

from .. import clock
from ..extensions import db
from ..models import (
    CallerRelation,
    ContactCategory,
    ContactChannel,
    ContactDirection,
    Contract,
    FollowUpStatus,
    OutageNotice,
    PortalAccount,
    Role,
)
from ..services import contact_categories, contacts, follow_ups
from ..services import customer as customer_service
from .base import CUSTOMER_ROLES, ConsoleView, apply_change, found_or_404, row_id

FORM_FIELDS = ("channel", "direction", "category", "caller_relation", "caller_phone", "memo", "outcome",
               "outage_notice_id", "follow_up_what", "follow_up_days", "follow_up_assignee")


def _input() -> contacts.ContactInput:
    form = request.form
    return contacts.ContactInput(**{name: form.get(name, "") for name in FORM_FIELDS
                                    if form.get(name) is not None})


def _form_values(**prefill) -> dict:
    """What the form shows: what was posted (after a refusal), else the defaults and the prefill."""
    values = {name: getattr(contacts.ContactInput(), name) for name in FORM_FIELDS}
    values["follow_up_days"] = str(contacts.DEFAULT_FOLLOW_UP_DAYS)
    values.update({k: v for k, v in prefill.items() if v is not None})
    if request.method == "POST":
        values.update({name: request.form.get(name, "") for name in FORM_FIELDS})
    return values


def _form_context(values: dict) -> dict:
    cats = contacts.categories()
    chosen = next((c for c in cats if c.code == values.get("category")), None)
    return dict(
        values=values, categories=cats, chosen=chosen, faq={c.code: contacts.faq_for(c) for c in cats},
        channels=ContactChannel.choices(), directions=ContactDirection.choices(), relations=CallerRelation.choices(),
        desk_staff=contacts.desk_staff(), today=clock.today(),
        due_examples=[(d, contacts.follow_up_due(d)) for d in (1, 3, 5, 10)],
    )


class ContactView(ConsoleView):
    """応対履歴: record a contact, read one (audited), correct it, link one taken before the caller was known."""

    required_roles = CUSTOMER_ROLES

    @expose("/")
    def index(self):
        return self.render("contacts/index.html", rows=contacts.unidentified(current_user),
                           customer_label=contacts.customer_label)

    @expose("/new", methods=["GET", "POST"])
    def new(self):
        args = request.args
        contract = account = None
        if args.get("contract_id"):
            contract = db.session.get(Contract, row_id(args.get("contract_id")) or 0) or abort(404)
        elif args.get("account_id"):
            account = db.session.get(PortalAccount, row_id(args.get("account_id")) or 0) or abort(404)
        outage = row_id(args.get("outage"))
        notice = db.session.get(OutageNotice, outage) if outage else None
        if request.method == "POST":
            done, created = apply_change(lambda: contacts.record_contact(
                current_user, _input(), contract=contract, account=account))
            if done:
                flash(f"応対を記録しました（応対番号 {created.id}）。", "success")
                return redirect(url_for(".detail", contact_id=created.id))
        contacts.view_form(current_user, contract=contract, account=account)
        values = _form_values(caller_phone=args.get("phone"), category=args.get("category"),
                              outage_notice_id=str(notice.id) if notice else None)
        return self.render("contacts/new.html", contract=contract, account=account, notice=notice,
                           masked_location=customer_service.masked_usage_location,
                           action=request.full_path.rstrip("?"), corrects=None, follow_up=None,
                           **_form_context(values))

    @expose("/<int:contact_id>")
    def detail(self, contact_id: int):
        detail = found_or_404(lambda: contacts.view_contact(current_user, contact_id))
        return self.render("contacts/detail.html", detail=detail, contact=detail.row.contact,
                           customer_label=contacts.customer_label, faq=contacts.faq_for(detail.row.contact.category),
                           FollowUpStatus=FollowUpStatus)

    @expose("/<int:contact_id>/correct", methods=["GET", "POST"])
    def correct(self, contact_id: int):
        if request.method == "POST":
            done, created = apply_change(lambda: contacts.correct_contact(current_user, contact_id, _input()))
            if done:
                flash(f"訂正を記録しました（応対番号 {created.id}）。元の記録は「訂正済」と表示されます。", "success")
                return redirect(url_for(".detail", contact_id=created.id))
        detail = found_or_404(lambda: contacts.view_contact(current_user, contact_id))
        old = detail.row.contact
        values = _form_values(**{name: (getattr(old, name) or "") for name in (
            "channel", "direction", "caller_relation", "memo", "outcome")},
            category=old.category.code, caller_phone=old.caller_phone or "",
            outage_notice_id=str(old.outage_notice_id or ""))
        values["follow_up_what"] = request.form.get("follow_up_what", "") if request.method == "POST" else ""
        return self.render("contacts/new.html", contract=old.contract, account=old.account, notice=None,
                           masked_location=customer_service.masked_usage_location,
                           action=url_for(".correct", contact_id=contact_id), corrects=old, follow_up=None,
                           **_form_context(values))

    @expose("/<int:contact_id>/link", methods=["POST"])
    def link(self, contact_id: int):
        apply_change(lambda: contacts.link_contact(current_user, contact_id, request.form.get("customer_number", "")),
                     "応対記録をお客さまに紐付けました。")
        return redirect(url_for(".detail", contact_id=contact_id))


class FollowUpView(ConsoleView):
    """対応待ち: mine and the desk's, overdue first; take the next one, close it, reassign (supervisors)."""

    required_roles = CUSTOMER_ROLES

    @expose("/")
    def index(self):
        lists = follow_ups.open_lists(current_user, limit=200, others=True)
        return self.render("follow_ups/index.html", lists=lists, customer_label=contacts.customer_label,
                           desk_staff=contacts.desk_staff(), supervisor=current_user.has_role(Role.SUPERVISOR))

    @expose("/take-next", methods=["POST"])
    def take_next(self):
        done, taken = apply_change(lambda: follow_ups.take_next(current_user))
        if done:
            flash(f"対応待ち（{taken.what}、期限 {taken.due_date:%Y-%m-%d}）を引き受けました。", "success")
            return redirect(url_for(".detail", follow_up_id=taken.id))
        return redirect(request.referrer or url_for(".index"))

    @expose("/<int:follow_up_id>", methods=["GET", "POST"])
    def detail(self, follow_up_id: int):
        if request.method == "POST":
            done, created = apply_change(lambda: follow_ups.close_follow_up(current_user, follow_up_id, _input()),
                                         "対応待ちを完了し、結果を応対として記録しました。")
            if done:
                return redirect(url_for("contacts.detail", contact_id=created.id))
        follow_up = found_or_404(lambda: follow_ups.view_follow_up(current_user, follow_up_id))
        promise = follow_up.contact
        values = _form_values(category=promise.category.code, direction=ContactDirection.OUTBOUND.value,
                              caller_phone=promise.caller_phone or "", caller_relation=promise.caller_relation.value)
        values["follow_up_what"] = ""
        return self.render("contacts/new.html", contract=promise.contract, account=promise.account, notice=None,
                           masked_location=customer_service.masked_usage_location,
                           action=url_for(".detail", follow_up_id=follow_up_id), corrects=None, follow_up=follow_up,
                           FollowUpStatus=FollowUpStatus, **_form_context(values))

    @expose("/<int:follow_up_id>/reassign", methods=["POST"])
    def reassign(self, follow_up_id: int):
        apply_change(lambda: follow_ups.reassign(current_user, follow_up_id, request.form.get("assignee", "")),
                     "担当を変更しました。")
        return redirect(url_for(".index"))


class ContactCategoryView(ConsoleView):
    """応対分類: admins add categories, rename them, tie them to FAQ questions and retire them."""

    required_roles = frozenset({Role.ADMIN})

    @expose("/", methods=["GET", "POST"])
    def index(self):
        form = request.form
        if request.method == "POST":
            done, _ = apply_change(lambda: contact_categories.create_category(
                current_user, code=form.get("code", ""), name=form.get("name", ""),
                questions=form.get("questions", ""), sort_order=form.get("sort_order", "")), "応対分類を追加しました。")
            if done:
                return redirect(url_for(".index"))
        return self.render("contacts/categories.html", categories=contacts.categories(include_retired=True),
                           form=form, faq=contacts.faq_for)

    @expose("/<int:category_id>", methods=["POST"])
    def update(self, category_id: int):
        db.get_or_404(ContactCategory, category_id)
        form = request.form
        apply_change(lambda: contact_categories.update_category(
            current_user, category_id, name=form.get("name", ""), questions=form.get("questions", ""),
            sort_order=form.get("sort_order", ""), retired=form.get("retired") == "1"), "応対分類を変更しました。")
        return redirect(url_for(".index"))
