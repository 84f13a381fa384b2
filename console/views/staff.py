"""Staff accounts, managed by admins: create, change roles, deactivate, unlock, reset the second factor."""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select
from wtforms import BooleanField, PasswordField, SelectMultipleField, StringField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from ..extensions import db
from ..formats import jdatetime
from ..models import Role, Staff
from ..services import DomainError, second_factor, staff_sessions
from ..services import staff as staff_service
from .base import ConsoleModelView, SecureFlaskForm, apply_change, row_id

ROLE_CHOICES = [SelectChoice(r.value, r.label) for r in Role]


class _RolesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class StaffCreateForm(SecureFlaskForm):
    """New staff member."""

    email = StringField("メールアドレス", validators=[DataRequired("メールアドレスを入力してください。")])
    name = StringField("氏名", validators=[DataRequired("氏名を入力してください。")])
    roles = _RolesField("権限", choices=ROLE_CHOICES)
    password = PasswordField("初期パスワード（12文字以上）", validators=[DataRequired("パスワードを入力してください。")])


class StaffEditForm(SecureFlaskForm):
    """Name, roles and whether the account may sign in."""

    name = StringField("氏名", validators=[DataRequired("氏名を入力してください。")])
    roles = _RolesField("権限", choices=ROLE_CHOICES)
    active = BooleanField("有効")


def _roles_text(_view, _context, model, _name):
    return "、".join(Role(r).label for r in sorted(model.role_names))


def _second_factor_text(_view, _context, model, _name):
    # Plain text: a link column would need markup, and the reset page is one click away on the detail page.
    if model.has_second_factor:
        return f"登録済み（{jdatetime(model.totp_enrolled_at)}）"
    return "登録中" if model.totp_secret else "未登録（次回ログイン時に登録）"


def _datetime_text(attr):
    return lambda _view, _context, model, _name: jdatetime(getattr(model, attr))


def _sessions_link(_view, _context, model, _name):
    count = g.get("live_sessions", {}).get(model.id, 0)
    url = url_for("staff.member_sessions", staff_id=model.id)
    return Markup(f'<a href="{escape(url)}">{count}台</a>')


class StaffView(ConsoleModelView):
    """職員アカウント: admins only; every change goes through services.staff and is audited."""

    required_roles = frozenset({Role.ADMIN})
    can_create = True
    can_edit = True
    column_list = ["email", "name", "roles", "active", "failed_logins", "locked_at", "last_login_at",
                   "totp_enrolled_at", "sessions"]
    column_details_list = column_list + ["created_at"]
    column_labels = {
        "email": "メールアドレス",
        "name": "氏名",
        "roles": "権限",
        "active": "有効",
        "failed_logins": "パスワード誤り回数",
        "locked_at": "ロック日時",
        "last_login_at": "最終ログイン",
        "totp_enrolled_at": "二要素認証",
        "created_at": "作成日時",
        "sessions": "サインイン中の端末",
    }
    column_formatters = {
        "roles": _roles_text,
        "locked_at": _datetime_text("locked_at"),
        "last_login_at": _datetime_text("last_login_at"),
        "totp_enrolled_at": _second_factor_text,
        "created_at": _datetime_text("created_at"),
        "sessions": _sessions_link,
    }
    column_filters = ["active", "email", "name"]
    column_default_sort = "email"
    details_template = "admin/staff_details.html"
    action_roles = {"unlock": frozenset({Role.ADMIN})}

    def get_list(self, *args, **kwargs):
        count, rows = super().get_list(*args, **kwargs)
        rows = list(rows)
        g.live_sessions = staff_sessions.live_counts(r.id for r in rows)  # one query for the page
        return count, rows

    def get_one(self, id):
        member = super().get_one(id)
        if member is not None:
            g.live_sessions = staff_sessions.live_counts([member.id])
        return member

    @expose("/sessions/<int:staff_id>", methods=["GET", "POST"])
    def member_sessions(self, staff_id: int):
        """A member's sign-ins; the admin signs them out everywhere with a reason (on leaving the job, say)."""
        member = db.get_or_404(Staff, staff_id)
        if request.method == "POST":
            done, ended = apply_change(lambda: staff_sessions.end_member_sessions(current_user, member, request.form.get("note")))
            if done:
                flash(f"{member.name} さんの端末 {ended}台をサインアウトしました。", "success")
                return redirect(url_for(".member_sessions", staff_id=member.id), code=303)
        return self.render("staff/sessions.html", member=member,
                           sessions=staff_sessions.member_sessions(current_user, member),
                           note=request.form.get("note", ""))

    def get_create_form(self):
        return StaffCreateForm

    def get_edit_form(self):
        return StaffEditForm

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        if obj is not None and not form.is_submitted():
            form.roles.data = [r.value for r in sorted(obj.role_names)]
        return form

    def create_model(self, form):
        done, staff = apply_change(lambda: staff_service.create_staff(
            current_user, form.email.data, form.name.data, form.roles.data, form.password.data))
        if not done:
            return False
        return staff

    def update_model(self, form, model):
        done, _ = apply_change(lambda: staff_service.update_staff(
            current_user, model, name=form.name.data, roles=form.roles.data, active=form.active.data))
        if not done:
            return False
        return True

    @action("unlock", "ロック解除", "選択した職員のロックを解除しますか？")
    def action_unlock(self, ids):
        wanted = [i for i in map(row_id, ids) if i is not None]
        staff_rows = db.session.scalars(select(Staff).where(Staff.id.in_(wanted))).all()
        done, refused = 0, []
        for staff in staff_rows:
            try:
                staff_service.unlock_staff(current_user, staff)
                done += 1
            except DomainError as exc:
                refused.append(exc.message)
        if done:
            flash(f"{done}件のロックを解除しました。", "success")
        for message in refused:
            flash(message, "warning")

    @expose("/<int:staff>/second-factor", methods=("GET", "POST"))
    def second_factor_reset(self, staff: int):
        """二要素認証のリセット: with a reason (audited); the member enrols again at the next sign-in."""
        member = db.get_or_404(Staff, staff)
        if request.method == "POST":
            done, _ = apply_change(
                lambda: second_factor.reset_second_factor(current_user, member, request.form.get("reason")),
                f"{member.name} さんの二要素認証をリセットしました。次回ログイン時に登録し直します。")
            if done:
                return redirect(url_for(".details_view", id=member.id))
        return self.render("admin/staff_second_factor.html", member=member, reason=request.form.get("reason", ""),
                           unused=second_factor.unused_recovery_codes(member))
