"""Staff sign-in and sign-out at /login and /logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from .. import normalise
from ..models import SessionEndReason, Staff
from ..services import DomainError, staff_sessions
from ..services.audit import client_address
from ..services.staff import authenticate
from ..web import ENDED_KEY, SESSION_KEY
from .base import current_staff_session

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = StringField("メールアドレス", validators=[DataRequired("メールアドレスを入力してください。")])
    password = PasswordField("パスワード", validators=[DataRequired("パスワードを入力してください。")])


def _safe_next(target: str | None) -> str:
    # Only paths on this site: never an absolute or scheme-relative URL (open redirect).
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("admin.index")


def tried_email() -> str:
    """The throttling key per account: the e-mail address being tried, however it was typed."""
    return "login:" + normalise.email_key(request.form.get("email", ""))


# What the sign-in page says to a browser whose sign-in ended while it was away.
SIGNED_OUT_MESSAGES = {
    SessionEndReason.SIGNED_OUT: "この端末はログアウトしています。続けるには、もう一度ログインしてください。",
    SessionEndReason.IDLE: "一定時間操作がなかったため、ログアウトしました。",
    SessionEndReason.ENDED_BY_SELF: "この端末のログインは、ご自分が別の端末から終了しました。続けるには、もう一度ログインしてください。",
    SessionEndReason.ENDED_BY_ADMIN: "この端末のログインは、管理者が終了しました。心当たりがないときは、管理者にお問い合わせください。",
    SessionEndReason.PASSWORD_CHANGED: "パスワードが変更されたため、この端末はログアウトしました。新しいパスワードでログインしてください。",
    SessionEndReason.PASSWORD_SET: "管理者がパスワードを設定し直したため、この端末はログアウトしました。新しいパスワードは管理者にお問い合わせください。",
    SessionEndReason.ROLES_CHANGED: "権限が変更されたため、この端末はログアウトしました。もう一度ログインしてください。",
    SessionEndReason.DISABLED: "アカウントが無効にされたため、ログアウトしました。管理者にお問い合わせください。",
    SessionEndReason.LOCKED: "アカウントがロックされたため、ログアウトしました。管理者にお問い合わせください。",
    SessionEndReason.SECOND_FACTOR_RESET: "二要素認証がリセットされたため、この端末はログアウトしました。もう一度ログインして、登録し直してください。",
}


def complete_sign_in(staff: Staff) -> None:
    """Where a sign-in completes (after every factor): a fresh session, so nothing chosen before it
    survives (session fixation); a server-side sign-in record whose random key the cookie carries; and
    Flask-Login's signed-in state. The only place a browser becomes signed in."""
    session.clear()
    record, key = staff_sessions.start_session(staff, client_addr=client_address(), user_agent=request.user_agent.string)
    session[SESSION_KEY] = key
    login_user(staff, remember=False)
    g.staff_session = record


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign-in page; five wrong passwords in a row lock the staff account."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    ended = session.pop(ENDED_KEY, None)
    if ended:
        flash(SIGNED_OUT_MESSAGES[SessionEndReason(ended)], "warning")
    if form.validate_on_submit():
        try:
            staff = authenticate(form.email.data, form.password.data)
        except DomainError as exc:
            # The wrong-password count and the audit entry stay: the page answers 200, so the request commits.
            flash(exc.message, "error")
        else:
            complete_sign_in(staff)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out (POST only, so another site cannot sign a staff member out).

    This browser's sign-in record ends, so a copy of its cookie is worthless too; the member's other
    browsers stay signed in (「サインイン中の端末」 ends them).
    """
    if current_user.is_authenticated:
        staff_sessions.sign_out(current_user, current_staff_session())
    logout_user()
    session.clear()
    flash("ログアウトしました。", "info")
    return redirect(url_for("auth.login"))
