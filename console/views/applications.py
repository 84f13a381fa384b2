"""使用開始・中止申込と支払方法の変更: the decision queue, the detail next to the place, the decisions."""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

from .. import clock
from ..extensions import db
from ..formats import to_tokyo
from ..models import ApplicationStatus, Channel, Contract, PaymentMethod, StartApplication, StopApplication
from ..services import DomainError, moves, payment_methods, start_applications, stop_applications
from ..services import customer as customer_service
from ..wards import WARDS
from .base import CUSTOMER_ROLES, ConsoleView, apply_change, contract_form, found_or_404

PAGE_SIZE = 100


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def _page() -> int:
    value = request.args.get("page", "1")
    return max(1, min(int(value), 1000)) if value.isdigit() else 1


def _queue_filter() -> tuple[start_applications.QueueFilter, list[str]]:
    """The queue's filters from the query string; unknown values are dropped with a message."""
    args, problems = request.args, []
    status = args.get("status", ApplicationStatus.PENDING.value)
    if status not in {s.value for s in ApplicationStatus}:
        problems.append("状態の指定が正しくありません。未処理を表示します。")
        status = ApplicationStatus.PENDING.value
    ward = args.get("ward") or None
    if ward and ward not in WARDS:
        problems.append("区の指定が正しくありません。")
        ward = None
    channel = args.get("channel") or None
    if channel and channel not in {c.value for c in Channel}:
        problems.append("受付経路の指定が正しくありません。")
        channel = None
    registration = {"yes": True, "no": False}.get(args.get("registration", ""))
    start_from, start_to = _date(args.get("from")), _date(args.get("to"))
    for key in ("from", "to"):
        if args.get(key) and _date(args.get(key)) is None:
            problems.append("開始希望日は YYYY-MM-DD の形で入力してください。")
            break
    return start_applications.QueueFilter(status, ward, channel, registration, start_from, start_to), problems


class ApplicationView(ConsoleView):
    """使用開始申込: the queue by urgency, the detail with what is known about the place, accept/reject."""

    required_roles = CUSTOMER_ROLES

    def _render(self, template, **kwargs):
        return self.render(template, wards=WARDS, channels=Channel, reasons=start_applications.REJECT_REASONS,
                           today=clock.today(), **kwargs)

    @expose("/")
    def index(self):
        filters, problems = _queue_filter()
        for problem in problems:
            flash(problem, "warning")
        page = _page()
        rows = start_applications.start_queue(current_user, filters, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
        now = clock.today()
        return self._render(
            "applications/queue.html", applications=rows[:PAGE_SIZE], has_next=len(rows) > PAGE_SIZE, page=page,
            filters=filters, overdue={a.id for a in rows if a.status == ApplicationStatus.PENDING
                                      and start_applications.is_overdue(a.received_at, now)},
            age_days={a.id: (now - to_tokyo(a.received_at).date()).days for a in rows},
        )

    @expose("/new", methods=["GET", "POST"])
    def new(self):
        """使用開始申込（電話受付）."""
        form = request.form
        if request.method == "POST":
            done, application = apply_change(lambda: start_applications.record_start_application(
                current_user, applicant_name=form.get("applicant_name", ""),
                applicant_kana=form.get("applicant_kana", ""), holder_kind=form.get("holder_kind", ""),
                phone=form.get("phone", ""), email=form.get("email"), ward_code=form.get("ward_code", ""),
                town=form.get("town", ""), address_line=form.get("address_line", ""), building=form.get("building"),
                room=form.get("room"), mailing_address=form.get("mailing_address"),
                desired_start_date=_date(form.get("desired_start_date")), payment_method=form.get("payment_method", ""),
                today=clock.today(),
            ))
            if done:
                flash(f"使用開始申込 #{application.id} を受け付けました。内容を確認して承認・却下してください。", "success")
                return redirect(url_for(".detail", application_id=application.id))
        return self._render("applications/new.html", form=form, methods=PaymentMethod)

    @expose("/stops/new/<int:contract_id>", methods=["GET", "POST"])
    def new_stop(self, contract_id: int):
        """使用中止申込（電話受付） for one contract."""
        form = request.form
        contract, done, _stop = contract_form(contract_id, "stop_application", lambda contract: (
            stop_applications.record_stop_application(
                current_user, contract, desired_stop_date=_date(form.get("desired_stop_date")),
                final_bill_address=form.get("final_bill_address"), today=clock.today())))
        if done:
            flash(f"お客さま番号 {contract.customer_number} の使用中止申込を受け付けました。", "success")
            return redirect(url_for(".stops"))
        return self._render("applications/new_stop.html", contract=contract, form=form)

    @expose("/<int:application_id>")
    def detail(self, application_id: int):
        return self._detail(db.get_or_404(StartApplication, application_id))

    def _detail(self, application, revealed=None):
        ctx = start_applications.view_start_application(current_user, application)
        return self._render("applications/detail.html", application=application, ctx=ctx, revealed=revealed or {},
                            mask_phone=customer_service.mask_phone, mask_email=customer_service.mask_email,
                            overdue=application.status == ApplicationStatus.PENDING
                            and start_applications.is_overdue(application.received_at, clock.today()))

    @expose("/<int:application_id>/reveal", methods=["POST"])
    def reveal(self, application_id: int):
        """The applicant's phone or e-mail unmasked, with the reason audited (the customer view's reveal)."""
        application = db.get_or_404(StartApplication, application_id)
        field_name = request.form.get("field", "")
        done, value = apply_change(lambda: customer_service.reveal(
            current_user, field_name=field_name, reason=request.form.get("reason", ""), application=application))
        if not done:
            return redirect(url_for(".detail", application_id=application_id))
        return self._detail(application, revealed={field_name: value})

    @expose("/<int:application_id>/accept", methods=["POST"])
    def accept(self, application_id: int):
        db.get_or_404(StartApplication, application_id)
        acknowledged = set(request.form.getlist("acknowledge"))
        done, decision = apply_change(
            lambda: start_applications.accept_start_application(current_user, application_id, acknowledged, today=clock.today()))
        if done:
            self._accepted(decision, f"承認しました。お客さま番号 {decision.contract.customer_number} の契約を作成しました。")
        return redirect(url_for(".detail", application_id=application_id))

    @expose("/<int:application_id>/reject", methods=["POST"])
    def reject(self, application_id: int):
        db.get_or_404(StartApplication, application_id)
        done, decision = apply_change(lambda: start_applications.reject_start_application(
            current_user, application_id, request.form.get("reason_code", ""), request.form.get("reason_text")))
        if done:
            flash("却下しました。", "success")
            self._mail(decision.notification)
        return redirect(url_for(".detail", application_id=application_id))

    def _accepted(self, decision, message: str) -> None:
        flash(message, "success")
        for note in decision.messages:
            flash(note, "info")
        self._mail(decision.notification)

    @staticmethod
    def _mail(notification) -> None:
        if notification is None:
            flash("メールアドレスの登録がないため、結果のメールは送信されません。電話等でお知らせください。", "warning")
        else:
            flash(f"「{notification.subject}」の送信を受け付けました。", "info")

    @expose("/not-started")
    def not_started(self):
        return self._render("applications/not_started.html", applications=start_applications.accepted_not_started(current_user, clock.today()))

    @expose("/contract/<int:contract_id>/opened", methods=["POST"])
    def opened(self, contract_id: int):
        contract = db.get_or_404(Contract, contract_id)
        done, _ = apply_change(lambda: start_applications.confirm_opened(
            current_user, contract, _date(request.form.get("opened_on")), today=clock.today()))
        if done:
            flash(f"お客さま番号 {contract.customer_number} の開栓日を記録しました。", "success")
        return redirect(url_for(".not_started"))

    @expose("/stops")
    def stops(self):
        status = request.args.get("status", ApplicationStatus.PENDING.value)
        if status not in {s.value for s in ApplicationStatus}:
            status = ApplicationStatus.PENDING.value
        page = _page()
        rows = stop_applications.stop_queue(current_user, status, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
        return self._render("applications/stops.html", stops=rows[:PAGE_SIZE], has_next=len(rows) > PAGE_SIZE,
                            page=page, status=status)

    @expose("/stops/<int:stop_id>/decide", methods=["POST"])
    def decide_stop(self, stop_id: int):
        stop = db.get_or_404(StopApplication, stop_id)
        form = request.form

        def decide() -> str:
            if form.get("decision") == "accept":
                reading = _date(form.get("final_reading_date"))
                if form.get("final_reading_date") and reading is None:
                    raise DomainError("最終検針日は YYYY-MM-DD の形で入力してください。")
                stop_applications.accept_stop_application(current_user, stop_id, final_reading_date=reading)
                return f"お客さま番号 {stop.contract.customer_number} の使用中止を承認しました。"
            if form.get("decision") == "reject":
                stop_applications.reject_stop_application(current_user, stop_id, form.get("note", ""))
                return "使用中止申込を却下しました。"
            raise DomainError("承認か却下を選んでください。")

        done, message = apply_change(decide)
        if done:
            flash(message, "success")
        return redirect(url_for(".stops"))

    @expose("/moves/<move_group>")
    def move(self, move_group: str):
        stop, start = found_or_404(lambda: moves.move_pair(move_group))
        ctx = start_applications.view_start_application(current_user, start)
        return self._render("applications/move.html", stop=stop, application=start, ctx=ctx, move_group=move_group)

    @expose("/moves/<move_group>/accept", methods=["POST"])
    def accept_move(self, move_group: str):
        done, decision = apply_change(lambda: moves.accept_move(
            current_user, move_group, set(request.form.getlist("acknowledge")), today=clock.today()))
        if done:
            self._accepted(decision, "転居（中止と開始）を承認しました。"
                                     f"新しいお客さま番号は {decision.contract.customer_number} です。")
        return redirect(url_for(".move", move_group=move_group))

    @expose("/payment-changes")
    def payment_changes(self):
        return self._render("applications/payment_changes.html", changes=payment_methods.pending_payment_changes(current_user),
                            limit=payment_methods.E_PAYMENT_LIMIT_YEN)

    @expose("/payment-changes/<int:payment_change_id>/decide", methods=["POST"])
    def decide_payment(self, payment_change_id: int):
        decision = request.form.get("decision")

        def decide():
            if decision not in {"apply", "refuse"}:
                raise DomainError("変更するか、お受けしないかを選んでください。")
            return payment_methods.decide_payment_change(current_user, payment_change_id, apply=decision == "apply",
                                                 note=request.form.get("note"))

        done, result = apply_change(decide)
        if done:
            _change, bills = result
            flash("支払方法を変更しました。" if decision == "apply" else "支払方法の変更をお受けしないことにしました。", "success")
            if bills:
                flash(f"30万円以上の請求が{len(bills)}件あるため、その分は納入通知書でお支払いいただきます（電子決済の対象外）。",
                      "warning")
        return redirect(url_for(".payment_changes"))

