"""Reissue of old usage notices (issue 6): requests for operators, print batches for supervisors."""

from __future__ import annotations

import io

from flask import abort, current_app, flash, redirect, request, send_file, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .. import clock, transaction
from ..documents import reissued_notices
from ..extensions import db
from ..jobs.queue import JobsUnavailable, enqueue
from ..jobs.reissue import build_print_batch
from ..models import AuditEvent, PrintBatch, ReissueRequest, ReissueStatus, Role
from ..services import DomainError, print_batches, reissue_requests
from ..services import customer as customer_service
from .base import CUSTOMER_ROLES, ConsoleView, apply_change, contract_form

LIST_LIMIT = 500


class ReissueView(ConsoleView):
    """お知らせ票の再発行: requests by status; operators and supervisors record and cancel them."""

    required_roles = CUSTOMER_ROLES

    @expose("/")
    def index(self):
        status = request.args.get("status", ReissueStatus.REQUESTED.value)
        if status not in {s.value for s in ReissueStatus}:
            status = ReissueStatus.REQUESTED.value
        requests, counts = reissue_requests.list_requests(current_user, status, limit=LIST_LIMIT)
        return self.render("reissue/list.html", requests=requests, status=status, counts=counts,
                           labels=ReissueStatus.labels(), relations=reissue_requests.CALLER_RELATIONS,
                           limit=LIST_LIMIT)

    @expose("/new/<int:contract_id>", methods=["GET", "POST"])
    def new(self, contract_id: int):
        form = request.form
        contract, done, created = contract_form(contract_id, "reissue", lambda contract: (
            reissue_requests.request_reissue(
                current_user, contract,
                months=reissue_requests.parse_months(" ".join(form.getlist("month") + [form.get("months_text", "")])),
                send_to=form.get("send_to", ""), caller_relation=form.get("caller_relation", ""),
                other_address=form.get("other_address"), other_address_reason=form.get("other_address_reason"),
            )))
        if done:
            flash(f"お知らせ票の再発行を受け付けました（受付番号 {created.id}）。印刷バッチで印刷・発送します。", "success")
            return redirect(url_for(".detail", request_id=created.id))
        return self.render(
            "reissue/new.html", contract=contract, form=form, checked=set(form.getlist("month")),
            bills=reissue_requests.reissuable_bills(contract), taken=reissue_requests.open_request_months(contract),
            relations=reissue_requests.CALLER_RELATIONS, masked_location=customer_service.masked_usage_location,
            labels=ReissueStatus.labels(),
        )

    @expose("/<int:request_id>")
    def detail(self, request_id: int):
        reissue = db.get_or_404(ReissueRequest, request_id)
        history = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.target_type == "reissue_request", AuditEvent.target_id == str(reissue.id))
            .options(selectinload(AuditEvent.staff))
            .order_by(AuditEvent.at, AuditEvent.id)
        ).all()
        kind, _address = reissued_notices.destination_of(reissue)
        reissue_requests.view_reissue(current_user, reissue)
        return self.render("reissue/detail.html", reissue=reissue, history=history, destination_kind=kind,
                           labels=ReissueStatus.labels(), relations=reissue_requests.CALLER_RELATIONS,
                           may_cancel=reissue.status in reissue_requests.OPEN_STATUSES,
                           is_supervisor=current_user.has_role(Role.SUPERVISOR))

    @expose("/<int:request_id>/cancel", methods=["POST"])
    def cancel(self, request_id: int):
        done, cancelled = apply_change(
            lambda: reissue_requests.cancel_reissue(current_user, request_id, request.form.get("reason", "")),
            "再発行を取り消しました。")
        if done:
            if cancelled.batch is not None:
                flash(f"印刷バッチ {cancelled.batch.batch_key} に入っていました。発送室に、この封筒を抜き取るよう伝えてください。",
                      "warning")
        return redirect(url_for(".detail", request_id=request_id))


class PrintBatchView(ConsoleView):
    """印刷バッチ: supervisors gather waiting requests, download the files and mark batches mailed."""

    required_roles = frozenset({Role.SUPERVISOR})

    @expose("/")
    def index(self):
        batches = db.session.scalars(
            select(PrintBatch).options(selectinload(PrintBatch.created_by)).order_by(PrintBatch.created_at.desc()).limit(100)
        ).all()
        waiting = db.session.scalar(
            select(func.count()).select_from(ReissueRequest).where(ReissueRequest.status == ReissueStatus.REQUESTED)
        )
        return self.render("reissue/batches.html", batches=batches, waiting=waiting,
                           counts=print_batches.status_counts([b.id for b in batches]),
                           batch_key=print_batches.new_manual_batch_key(), labels=ReissueStatus.labels(),
                           batch_time=current_app.config["REISSUE_BATCH_TIME"])

    @expose("/build", methods=["POST"])
    def build(self):
        key = request.form.get("batch_key", "")
        if not print_batches.BATCH_KEY_RE.match(key) or not key.startswith("manual-"):
            flash("印刷バッチの指定が正しくありません。画面を更新してやり直してください。", "error")
            return redirect(url_for(".index"))
        try:
            state = enqueue(build_print_batch, key, clock.now().isoformat(), current_user.id, job_id=f"print-batch-{key}")
        except JobsUnavailable as exc:
            flash(str(exc), "error")
            return redirect(url_for(".index"))
        except DomainError as exc:
            transaction.rollback()
            flash(exc.message, "error")
            return redirect(url_for(".index"))
        if state == "queued":
            flash("印刷バッチの作成を受け付けました。できあがると、この一覧に表示されます。", "success")
            return redirect(url_for(".index"))
        batch = db.session.scalar(select(PrintBatch).where(PrintBatch.batch_key == key))
        if batch is None:
            flash("印刷を待っている再発行はありません。", "info")
            return redirect(url_for(".index"))
        flash(f"印刷バッチ {batch.batch_key} を作成しました。", "success")
        return redirect(url_for(".detail", batch_id=batch.id))

    @expose("/<int:batch_id>")
    def detail(self, batch_id: int):
        batch = db.get_or_404(PrintBatch, batch_id)
        requests = print_batches.view_print_batch(current_user, batch)
        return self.render("reissue/batch_detail.html", batch=batch, requests=requests, labels=ReissueStatus.labels(),
                           destination_of=reissued_notices.destination_of,
                           to_mail=sum(r.status == ReissueStatus.IN_BATCH for r in requests))

    @expose("/<int:batch_id>/files", methods=["POST"])
    def write_files(self, batch_id: int):
        """Finish a batch whose files were never written (its job died after gathering): the same job again."""
        batch = db.get_or_404(PrintBatch, batch_id)
        try:
            state = enqueue(build_print_batch, batch.batch_key, batch.created_at.isoformat(), current_user.id,
                            job_id=f"print-batch-{batch.batch_key}")
        except JobsUnavailable as exc:
            flash(str(exc), "error")
        except DomainError as exc:
            transaction.rollback()
            flash(exc.message, "error")
        else:
            flash("ファイルを作成しました。" if state == "done" else "ファイルの作成を受け付けました。", "success")
        return redirect(url_for(".detail", batch_id=batch_id))

    @expose("/<int:batch_id>/mailed", methods=["POST"])
    def mailed(self, batch_id: int):
        done, count = apply_change(lambda: print_batches.mark_batch_mailed(current_user, batch_id))
        if done:
            flash(f"{count}件を発送済にしました。", "success")
        return redirect(url_for(".detail", batch_id=batch_id))

    @expose("/<int:batch_id>/list.xlsx")
    def download_list(self, batch_id: int):
        batch = db.get_or_404(PrintBatch, batch_id)
        return self._send(lambda: print_batches.download_list(current_user, batch), batch_id,
                          f"再発行_発送リスト_{batch.batch_key}.xlsx")

    @expose("/<int:batch_id>/requests/<int:request_id>.pdf")
    def download_notice(self, batch_id: int, request_id: int):
        batch = db.get_or_404(PrintBatch, batch_id)
        reissue = db.get_or_404(ReissueRequest, request_id)
        if reissue.batch_id != batch.id:
            abort(404)
        return self._send(lambda: print_batches.download_notice(current_user, batch, reissue), batch_id,
                          f"お知らせ票_再発行_{reissue.contract.customer_number}_{reissue.id}.pdf")

    @expose("/<int:batch_id>/notices.zip")
    def download_zip(self, batch_id: int):
        batch = db.get_or_404(PrintBatch, batch_id)
        return self._send(lambda: io.BytesIO(print_batches.download_notices_zip(current_user, batch)), batch_id,
                          f"再発行_お知らせ票_{batch.batch_key}.zip")

    def _send(self, load, batch_id: int, download_name: str):
        done, source = apply_change(load)
        if not done:
            return redirect(url_for(".detail", batch_id=batch_id))
        return send_file(source, as_attachment=True, download_name=download_name, max_age=0)
