"""A member of staff's own sign-ins (「サインイン中の端末」) and password, reached from their name in the menu."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_admin import expose
from flask_login import current_user
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo

from ..services import staff as staff_service
from ..services import staff_sessions
from ..services.passwords import MIN_LENGTH
from .base import ANY_ROLE, ConsoleView, SecureFlaskForm, apply_change, current_staff_session


class OwnPasswordForm(SecureFlaskForm):
    """The current password, and the new one twice."""

    current_password = PasswordField("現在のパスワード", validators=[DataRequired("現在のパスワードを入力してください。")])
    password = PasswordField(f"新しいパスワード（{MIN_LENGTH}文字以上）",
                             validators=[DataRequired("新しいパスワードを入力してください。")])
    password_confirm = PasswordField("新しいパスワード（確認）", validators=[
        DataRequired("確認のため、新しいパスワードをもう一度入力してください。"),
        EqualTo("password", "確認のために入力したパスワードが一致しません。"),
    ])


class OwnAccountView(ConsoleView):
    """サインイン中の端末 and パスワードの変更: every member of staff, for themselves only."""

    required_roles = ANY_ROLE

    def is_visible(self) -> bool:
        return False  # reached from the member's name in the menu bar, not from the menu

    @expose("/")
    def index(self):
        """The member's live sign-ins: device, address, started, last seen; this browser's marked."""
        return self.render("me/sessions.html", sessions=staff_sessions.own_sessions(current_user),
                           current=current_staff_session())

    @expose("/sessions/<int:session_id>/end", methods=["POST"])
    def end_session(self, session_id: int):
        """End one sign-in in another browser: it is signed out at its next request."""
        apply_change(lambda: staff_sessions.end_own_session(current_user, session_id, current=current_staff_session()),
                     "その端末をサインアウトしました。")
        return redirect(url_for(".index"), code=303)

    @expose("/sessions/end-others", methods=["POST"])
    def end_others(self):
        """「他の端末をすべてサインアウト」."""
        done, ended = apply_change(
            lambda: staff_sessions.end_other_sessions(current_user, current=current_staff_session()))
        if done:
            flash(f"他の端末 {ended}台をサインアウトしました。" if ended else "他にサインイン中の端末はありません。",
                  "success" if ended else "info")
        return redirect(url_for(".index"), code=303)

    @expose("/password", methods=["GET", "POST"])
    def password(self):
        """Change one's own password: the current one proves it is the member; other browsers are signed out."""
        form = OwnPasswordForm()
        if form.validate_on_submit():
            done, ended = apply_change(lambda: staff_service.change_own_password(
                current_user, form.current_password.data, form.password.data, keep=current_staff_session()))
            if done:
                flash("パスワードを変更しました。" + (f"他の端末 {ended}台はサインアウトしました。" if ended else ""), "success")
                return redirect(url_for(".index"), code=303)
        return self.render("me/password.html", form=form, min_length=MIN_LENGTH)
