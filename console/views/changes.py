"""Name changes (maker-checker) and management-company handovers (issue 4)."""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..models import (
    ChangeStatus,
    Handover,
    HandoverStatus,
    HolderKind,
    NameChange,
    PortalAccount,
    Role,
)
from ..services import handovers as handover_service
from ..services import holders as holder_service
from .base import CUSTOMER_ROLES, ConsoleView, apply_change, contract_form, row_id


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


class NameChangeView(ConsoleView):
    """名義変更: operators record, supervisors (never the same person) approve or return."""

    required_roles = CUSTOMER_ROLES

    @expose("/")
    def index(self):
        status = request.args.get("status", ChangeStatus.PENDING.value)
        changes = holder_service.list_name_changes(current_user, status)
        return self.render("changes/name_change_list.html", changes=changes, status=status,
                           groups=holder_service.group_name_changes(changes),
                           is_supervisor=current_user.has_role(Role.SUPERVISOR))

    @expose("/approve-group", methods=["POST"])
    def approve_group(self):
        """One decision for one building's pending changes: every one approved, or none."""
        ids = [i for i in (row_id(v) for v in request.form.getlist("change_id")) if i is not None]
        done, approved = apply_change(lambda: holder_service.approve_name_changes(
            current_user, ids, request.form.get("note")))
        if done:
            flash(f"{len(approved)}件の名義変更をまとめて承認しました。契約者の履歴に反映しました。", "success")
        return redirect(url_for(".index"))

    @expose("/new/<int:contract_id>", methods=["GET", "POST"])
    def new(self, contract_id: int):
        form = request.form
        contract, done, change = contract_form(contract_id, "name_change", lambda contract: (
            holder_service.request_name_change(
                current_user, contract,
                new_holder_name=form.get("new_holder_name", ""),
                new_holder_kana=form.get("new_holder_kana", ""),
                new_holder_kind=form.get("new_holder_kind", ""),
                effective_date=_date(form.get("effective_date")),
                identity_check=form.get("identity_check", ""),
                documents_checked=form.get("documents_checked"),
                note=form.get("note"),
            )), "名義変更を受け付けました。スーパーバイザーの承認後に反映されます。")
        if done:
            return redirect(url_for(".detail", change_id=change.id))
        return self.render(
            "changes/name_change_new.html", contract=contract, form=form, today=clock.today(),
            carry=holder_service.carry_over(contract), kinds=HolderKind,
        )

    @expose("/<int:change_id>")
    def detail(self, change_id: int):
        change = db.get_or_404(NameChange, change_id)
        return self.render("changes/name_change_detail.html", change=change,
                           carry=holder_service.view_name_change(current_user, change), kinds=HolderKind,
                           may_decide=holder_service.may_decide(current_user, change))

    @expose("/<int:change_id>/decide", methods=["POST"])
    def decide(self, change_id: int):
        if request.form.get("decision") == "approve":
            apply_change(lambda: holder_service.approve_name_change(current_user, change_id, request.form.get("note")),
                         "名義変更を承認しました。契約者の履歴に反映しました。")
        else:
            apply_change(lambda: holder_service.return_name_change(current_user, change_id, request.form.get("note", "")),
                         "名義変更を差し戻しました。")
        return redirect(url_for(".detail", change_id=change_id))


class HandoverView(ConsoleView):
    """管理会社の変更: open cases oldest first, each with its step, age and what blocks it."""

    required_roles = CUSTOMER_ROLES

    @expose("/")
    def index(self):
        company = (request.args.get("company") or "").strip()
        step = request.args.get("step", "")
        query = select(Handover).where(Handover.status == HandoverStatus.OPEN).order_by(Handover.created_at)
        if company:
            pattern = f"%{company}%"
            query = query.where(Handover.old_company_name.like(pattern) | Handover.new_company_name.like(pattern))
        rows = []
        for handover in db.session.scalars(query.limit(200)):
            states = handover_service.item_states(handover)
            case_step = handover_service.case_step(states)
            if step.isdigit() and int(step) != case_step:
                continue
            rows.append((handover, states, case_step))
        return self.render("changes/handover_list.html", rows=rows, company=company, step=step,
                           step_labels=handover_service.STEP_LABELS, today=clock.today())

    @expose("/new", methods=["GET", "POST"])
    def new(self):
        form = request.form
        if request.method == "POST":
            done, handover = apply_change(lambda: handover_service.open_handover(
                current_user,
                old_company_name=form.get("old_company_name", ""),
                new_company_name=form.get("new_company_name", ""),
                new_company_kana=form.get("new_company_kana", ""),
                customer_numbers=form.get("customer_numbers", ""),
                target_date=_date(form.get("target_date")),
                identity_check=form.get("identity_check", ""),
                old_account_id=row_id(form.get("old_account_id")),
                note=form.get("note"),
            ), "管理会社の変更を受け付けました。各お客さま番号の名義変更が承認待ちになりました。")
            if done:
                return redirect(url_for(".detail", handover_id=handover.id))
        return self.render("changes/handover_new.html", form=form)

    @expose("/<int:handover_id>")
    def detail(self, handover_id: int):
        handover = db.get_or_404(Handover, handover_id)
        states = handover_service.item_states(handover)
        check = None
        if "account_id" in request.args and handover.status == HandoverStatus.OPEN:
            # Step ③'s first half: whose account the typed number is (a refusal is flashed on this page).
            typed = row_id(request.args.get("account_id"))
            _done, check = apply_change(lambda: handover_service.check_new_account(current_user, handover, typed))
        return self.render("changes/handover_detail.html", handover=handover, states=states, check=check,
                           case_step=handover_service.case_step(states), step_labels=handover_service.STEP_LABELS,
                           is_open=handover.status == HandoverStatus.OPEN,
                           account_id=request.args.get("account_id", ""))

    @expose("/<int:handover_id>/release", methods=["POST"])
    def release(self, handover_id: int):
        handover = db.get_or_404(Handover, handover_id)
        done, result = apply_change(lambda: handover_service.release_old_links(
            current_user, handover, request.form.get("reason", "")))
        if done:
            count, mails = result
            flash(f"{count}件のお客さま番号を旧管理会社の登録から解除し、お知らせメールを送りました。", "success")
        return redirect(url_for(".detail", handover_id=handover_id))

    @expose("/<int:handover_id>/link", methods=["POST"])
    def link(self, handover_id: int):
        handover = db.get_or_404(Handover, handover_id)
        account_id = row_id(request.form.get("account_id"))
        account = db.session.get(PortalAccount, account_id) if account_id is not None else None
        if account is None:
            flash("新管理会社のマイページ利用者番号を入力し、「利用者を確認」で名義を確かめてください。", "error")
            return redirect(url_for(".detail", handover_id=handover_id))
        done, result = apply_change(lambda: handover_service.link_new_account(
            current_user, handover, account, name_confirmed=request.form.get("confirm_name") == "1"))
        if not done:
            # Back to the confirmation, with the account's name shown again.
            return redirect(url_for(".detail", handover_id=handover_id, account_id=account.id))
        linked, warning = result
        flash(f"{linked}件のお客さま番号を新管理会社の利用者 #{account.id}（{account.name or '名義なし'}）に登録しました。",
              "success")
        if warning:
            flash(warning, "warning")
        return redirect(url_for(".detail", handover_id=handover_id))
