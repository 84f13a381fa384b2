"""Staff sign-in and sign-out at /login and /logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from .. import normalise
from ..services import DomainError
from ..services.staff import authenticate, sign_out

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


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign-in page; five wrong passwords in a row lock the staff account."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if session.pop("idle_logout", False):
        flash("一定時間操作がなかったため、ログアウトしました。", "warning")
    if form.validate_on_submit():
        try:
            staff = authenticate(form.email.data, form.password.data)
        except DomainError as exc:
            # The wrong-password count and the audit entry stay: the page answers 200, so the request commits.
            flash(exc.message, "error")
        else:
            # A fresh session on sign-in: nothing chosen before it survives (session fixation).
            session.clear()
            login_user(staff, remember=False)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out (POST only, so another site cannot sign a staff member out).

    The staff member's session token rotates, so a copy of the old cookie is worthless too.
    """
    if current_user.is_authenticated:
        sign_out(current_user)
    logout_user()
    session.clear()
    flash("ログアウトしました。", "info")
    return redirect(url_for("auth.login"))
