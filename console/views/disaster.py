"""Disaster coordinators' pages: outage notices (R19) and emergency water supply points (R20)."""

from __future__ import annotations

from flask import flash, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import select

from .. import clock, towns
from ..extensions import db
from ..models import (
    IncidentStatus,
    NoticeKind,
    NoticeMode,
    OutageNotice,
    Phenomenon,
    Role,
    SupplyPoint,
    SupplyPointType,
    SupplyStatus,
    VersionType,
)
from ..services import disaster_feeds as feeds
from ..services import outage_desk, outage_mail, outage_notices, supply_points
from ..wards import WARDS
from .base import CUSTOMER_ROLES, ConsoleView, apply_change, found_or_404, row_id

COORDINATOR_ROLES = frozenset({Role.DISASTER_COORDINATOR})


def _notice_input(form) -> outage_notices.NoticeInput:
    wards = tuple(form.getlist("wards"))
    return outage_notices.NoticeInput(
        kind=form.get("kind", ""), phenomenon=form.get("phenomenon", ""), mode=form.get("mode", ""),
        title=form.get("title", ""), body=form.get("body", ""), guidance=form.get("guidance", ""),
        starts_at=form.get("starts_at", ""), expected_restoration_at=form.get("expected_restoration_at", ""),
        wards=wards, towns={code: form.get(f"towns_{code}", "") for code in WARDS},
    )


def _public_url() -> str:
    from flask import current_app

    base = current_app.config.get("PUBLIC_BASE_URL") or request.url_root
    return base.rstrip("/") + url_for("public.alerts")


def _start_sending(notification_id: int | None) -> None:
    """Say how many mails a published actual version sends (they are enqueued after the commit)."""
    if notification_id is None:
        return
    progress = outage_mail.delivery_progress(notification_id)
    flash(f"お客さまへのメール {progress['total']}通の送信を開始しました。", "info")


def _labels() -> dict:
    return dict(wards=WARDS, kinds=NoticeKind.labels(), phenomena=Phenomenon.labels(), modes=NoticeMode.labels(),
                version_types=VersionType.labels(), statuses=IncidentStatus.labels(),
                area_text=outage_mail.area_text)


def _town_lists() -> dict:
    """The form's town suggestions: each ward's towns from Japan Post's data (console/towns.py)."""
    return dict(ward_towns=towns.towns_by_ward(), town_source=towns.source())


class OutageNoticeView(ConsoleView):
    """断水等のお知らせ: draft, preview, publish, update, resolve, cancel; mail progress per version."""

    required_roles = COORDINATOR_ROLES

    @expose("/")
    def index(self):
        notices = db.session.scalars(select(OutageNotice).order_by(OutageNotice.id.desc()).limit(200)).all()
        rows = [(n, outage_notices.latest_published(n), outage_notices.draft_of(n)) for n in notices]
        return self.render("disaster/notice_list.html", rows=rows, **_labels())

    @expose("/new", methods=["GET", "POST"])
    def new(self):
        data = outage_notices.NoticeInput(
            kind=NoticeKind.EMERGENCY.value, phenomenon=Phenomenon.OUTAGE.value, mode=NoticeMode.ACTUAL.value,
            starts_at=outage_notices.local_input(clock.now()),
        )
        if request.method == "POST":
            data = _notice_input(request.form)
            done, version = apply_change(lambda: outage_notices.create_draft(current_user, data),
                                         "下書きを保存しました。プレビューで内容と送信先の件数を確かめてから発表してください。")
            if done:
                return redirect(url_for(".preview", notice_id=version.notice_id))
        return self.render("disaster/notice_form.html", data=data, notice=None, published=None, **_town_lists(),
                           **_labels())

    @expose("/<int:notice_id>")
    def detail(self, notice_id: int):
        notice = db.get_or_404(OutageNotice, notice_id)
        published = [v for v in notice.versions if v.published_at is not None]
        mails = {v.id: outage_mail.notification_for(v) for v in published}
        failed = {
            v.id: outage_mail.failed_deliveries(mails[v.id].id) for v in published if mails.get(v.id) is not None
        }
        return self.render(
            "disaster/notice_detail.html", notice=notice, published=published, draft=outage_notices.draft_of(notice),
            mails=mails, progress={vid: outage_mail.delivery_progress(n.id if n else None) for vid, n in mails.items()},
            failed=failed, redact=outage_mail.redact, **_labels(),
        )

    @expose("/<int:notice_id>/draft", methods=["GET", "POST"])
    def edit(self, notice_id: int):
        notice = db.get_or_404(OutageNotice, notice_id)
        source = outage_notices.draft_of(notice) or outage_notices.latest_published(notice)
        data = outage_notices.input_from_version(source)
        if request.method == "POST":
            data = _notice_input(request.form)
            done, _ = apply_change(lambda: outage_notices.save_draft(current_user, notice_id, data), "下書きを保存しました。")
            if done:
                return redirect(url_for(".preview", notice_id=notice_id))
        return self.render("disaster/notice_form.html", data=data, notice=notice,
                           published=outage_notices.first_published(notice), **_town_lists(), **_labels())

    @expose("/<int:notice_id>/preview")
    def preview(self, notice_id: int):
        notice = db.get_or_404(OutageNotice, notice_id)
        draft = outage_notices.draft_of(notice)
        if draft is None:
            return self.render("disaster/notice_preview.html", notice=notice, draft=None, **_labels())
        recipients = outage_mail.count_recipients(draft) if draft.mode == NoticeMode.ACTUAL else 0
        earlier = [v for v in notice.versions if v.published_at is not None]
        return self.render(
            "disaster/notice_preview.html", notice=notice, draft=draft, recipients=recipients,
            area_counts=outage_mail.area_counts(draft),
            subject=outage_mail.mail_subject(draft), body=outage_mail.mail_body(draft, _public_url()),
            msg_type=feeds.CAP_MSG_TYPE[VersionType.UPDATE if earlier else VersionType.ALERT],
            cap_status=feeds.CAP_STATUS[draft.mode], **_labels(),
        )

    @expose("/<int:notice_id>/publish", methods=["POST"])
    def publish(self, notice_id: int):
        done, result = apply_change(lambda: outage_notices.publish_draft(current_user, notice_id, _public_url()))
        if not done:
            return redirect(url_for(".detail", notice_id=notice_id))
        version, notification_id = result
        if version.mode == NoticeMode.ACTUAL:
            flash(f"第{version.version_no}報を発表しました。", "success")
        else:
            flash(f"第{version.version_no}報を{NoticeMode(version.mode).label}として発表しました"
                  "（お客さまへのメールは送りません）。", "success")
        _start_sending(notification_id)
        return redirect(url_for(".detail", notice_id=notice_id))

    @expose("/<int:notice_id>/discard", methods=["POST"])
    def discard(self, notice_id: int):
        apply_change(lambda: outage_notices.discard_draft(current_user, notice_id), "下書きを破棄しました。")
        notice = db.session.get(OutageNotice, notice_id)
        if notice is not None and not notice.versions:
            return redirect(url_for(".index"))
        return redirect(url_for(".detail", notice_id=notice_id))

    @expose("/<int:notice_id>/close", methods=["POST"])
    def close(self, notice_id: int):
        cancel = request.form.get("action") == "cancel"
        done, result = apply_change(lambda: outage_notices.close_notice(
            current_user, notice_id, cancel=cancel, message=request.form.get("message", ""),
            public_url=_public_url(),
        ))
        if not done:
            return redirect(url_for(".detail", notice_id=notice_id))
        version, notification_id = result
        flash(f"お知らせを{'取り消し' if cancel else '解消とし'}ました（第{version.version_no}報）。", "success")
        _start_sending(notification_id)
        return redirect(url_for(".detail", notice_id=notice_id))

    @expose("/<int:notice_id>/progress.json")
    def progress(self, notice_id: int):
        notice = db.get_or_404(OutageNotice, notice_id)
        out = {}
        for version in notice.versions:
            notification = outage_mail.notification_for(version) if version.published_at else None
            if notification is not None:
                out[str(version.id)] = outage_mail.delivery_progress(notification.id)
        return jsonify({"notice_id": notice.id, "versions": out})

    @expose("/<int:notice_id>/resend", methods=["POST"])
    def resend(self, notice_id: int):
        notice = db.get_or_404(OutageNotice, notice_id)
        version_id = request.form.get("version_id", "")
        version = next((v for v in notice.versions if str(v.id) == version_id and v.published_at), None)
        notification = outage_mail.notification_for(version) if version is not None else None
        if notification is None:
            flash("再送信するメールがありません。", "error")
            return redirect(url_for(".detail", notice_id=notice_id))
        retried = outage_mail.retry_failed(current_user, notification.id)
        flash(f"送信失敗{retried}件を戻し、未送信分を再送信します。", "success")
        return redirect(url_for(".detail", notice_id=notice_id))


class OutageDeskView(ConsoleView):
    """断水等のお知らせ（閲覧）: operators and supervisors read every published notice and its versions.

    Read-only: nothing here posts, and the services that change notices serve coordinators only."""

    required_roles = CUSTOMER_ROLES

    @expose("/")
    def index(self):
        page = outage_desk.list_notices(current_user, row_id(request.args.get("before")))
        return self.render("disaster/desk_list.html", page=page, first_page=not request.args.get("before"),
                           **_labels())

    @expose("/<int:notice_id>")
    def detail(self, notice_id: int):
        detail = found_or_404(lambda: outage_desk.view_notice(current_user, notice_id))
        return self.render("disaster/desk_detail.html", detail=detail, supply_types=SupplyPointType.labels(),
                           **_labels())


def _point_input(form) -> supply_points.SupplyPointInput:
    return supply_points.SupplyPointInput(**{k: form.get(k, "") for k in supply_points.SupplyPointInput.__dataclass_fields__})


class SupplyPointView(ConsoleView):
    """応急給水拠点: details, and status one at a time or for a whole ward (history is append-only)."""

    required_roles = COORDINATOR_ROLES

    def _labels(self) -> dict:
        return dict(wards=WARDS, types=SupplyPointType.labels(), statuses=SupplyStatus.labels())

    @expose("/")
    def index(self):
        ward = request.args.get("ward") or ""
        rows = supply_points.current_supply_points(ward if ward in WARDS else None)
        by_ward: dict[str, list] = {}
        for row in rows:
            by_ward.setdefault(row[0].ward_code, []).append(row)
        return self.render("disaster/supply_point_list.html", by_ward=by_ward, ward=ward, **self._labels())

    @expose("/new", methods=["GET", "POST"])
    def new(self):
        data = supply_points.SupplyPointInput()
        if request.method == "POST":
            data = _point_input(request.form)
            done, point = apply_change(lambda: supply_points.create_supply_point(current_user, data))
            if done:
                flash(f"給水拠点 {point.code} を登録しました（状態：閉鎖）。", "success")
                return redirect(url_for(".detail", point_id=point.id))
        return self.render("disaster/supply_point_form.html", data=data, point=None, **self._labels())

    @expose("/<int:point_id>")
    def detail(self, point_id: int):
        point = db.get_or_404(SupplyPoint, point_id)
        return self.render("disaster/supply_point_detail.html", point=point, current=supply_points.current_status(point),
                           history=supply_points.status_history(point), **self._labels())

    @expose("/<int:point_id>/edit", methods=["GET", "POST"])
    def edit(self, point_id: int):
        point = db.get_or_404(SupplyPoint, point_id)
        data = supply_points.SupplyPointInput(
            code=point.code, name=point.name, kana=point.kana, point_type=point.point_type.value,
            ward_code=point.ward_code, address=point.address, latitude=str(point.latitude),
            longitude=str(point.longitude), notes=point.notes or "",
        )
        if request.method == "POST":
            data = _point_input(request.form)
            done, _ = apply_change(lambda: supply_points.update_supply_point(current_user, point, data), "給水拠点の情報を更新しました。")
            if done:
                return redirect(url_for(".detail", point_id=point_id))
        return self.render("disaster/supply_point_form.html", data=data, point=point, **self._labels())

    @expose("/<int:point_id>/status", methods=["POST"])
    def status(self, point_id: int):
        point = db.get_or_404(SupplyPoint, point_id)
        done, entry = apply_change(lambda: supply_points.set_supply_status(
            current_user, point, request.form.get("status", ""), request.form.get("note")))
        if done:
            flash(f"{point.name}を「{SupplyStatus(entry.status).label}」にしました。", "success")
        return redirect(request.form.get("next") == "list" and url_for(".index", ward=point.ward_code)
                        or url_for(".detail", point_id=point_id))

    @expose("/ward-status", methods=["POST"])
    def ward_status(self):
        ward = request.form.get("ward_code", "")
        done, changed = apply_change(lambda: supply_points.set_ward_status(
            current_user, ward, request.form.get("status", ""), request.form.get("note"),
            request.form.get("point_type") or None))
        if done:
            label = SupplyStatus.label_of(request.form.get("status"))
            flash(f"{WARDS[ward]}の給水拠点{changed}か所を「{label}」にしました。", "success")
        return redirect(url_for(".index", ward=ward if ward in WARDS else None))
