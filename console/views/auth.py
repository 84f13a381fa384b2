"""Staff sign-in and sign-out: /login (e-mail and password), then /login/code (the second factor) or, for a
member without one, /login/enrol (TOTP enrolment and recovery codes); /logout.

Between the password and the second factor the session holds only a pending sign-in (who, since when,
where to go next); Flask-Login's login_user happens in one place, complete_staff_sign_in."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from .. import clock, normalise
from ..extensions import db
from ..models import Staff
from ..services import DomainError, second_factor
from ..services.staff import authenticate, complete_sign_in, sign_out

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = StringField("メールアドレス", validators=[DataRequired("メールアドレスを入力してください。")])
    password = PasswordField("パスワード", validators=[DataRequired("パスワードを入力してください。")])


class CodeForm(FlaskForm):
    """The second factor: a code from the authenticator app, or a recovery code."""

    code = StringField("確認コード", validators=[DataRequired("確認コードを入力してください。")])


# The pending sign-in between the password and the second factor, in the (signed) session cookie.
PENDING = "pending_sign_in"
# How long the second step may wait after the password: long enough to install an authenticator app.
PENDING_SECONDS = 10 * 60
PENDING_GONE = "ログインの手続きが中断されたか、時間がたちました。もう一度メールアドレスとパスワードを入力してください。"


def _safe_next(target: str | None) -> str:
    # Only paths on this site: never an absolute or scheme-relative URL (open redirect).
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("admin.index")


def tried_email() -> str:
    """The throttling key per account: the e-mail address being tried, however it was typed; at the
    second step, the pending sign-in's. Passwords and codes count against the same limit."""
    if request.endpoint == "auth.login":
        return "login:" + normalise.email_key(request.form.get("email", ""))
    return "login:" + (session.get(PENDING) or {}).get("email", "")


def _pending_staff() -> Staff | None:
    """The member whose password was accepted in this session, while the sign-in is still valid: not too
    old, and the member's sessions not ended meanwhile (lock, sign-out everywhere, role change)."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    staff = db.session.get(Staff, pending.get("staff_id") or 0)
    if (staff is None or staff.session_token != pending.get("token") or not staff.is_active
            or clock.now().timestamp() - pending.get("at", 0) > PENDING_SECONDS):
        session.pop(PENDING, None)
        return None
    return staff


def _pending_gone():
    flash(PENDING_GONE, "warning")
    return redirect(url_for("auth.login"))


def complete_staff_sign_in(staff: Staff, second_factor_used: str) -> str:
    """The one place a staff sign-in completes, after the password and the second factor: the sign-in is
    recorded and audited, the session starts afresh and Flask-Login signs the member in.
    Returns where to go next (the page first asked for)."""
    next_page = _safe_next((session.get(PENDING) or {}).get("next"))
    complete_sign_in(staff, second_factor_used)
    # A fresh session on sign-in: nothing chosen before it survives (session fixation).
    session.clear()
    login_user(staff, remember=False)
    return next_page


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
            # Nothing chosen before the password survives (session fixation); the second step comes next.
            session.clear()
            session[PENDING] = {"staff_id": staff.id, "token": staff.session_token, "email": staff.email,
                                "at": clock.now().timestamp(), "next": _safe_next(request.args.get("next"))}
            return redirect(url_for("auth.second_factor" if staff.has_second_factor else "auth.enrol"))
    return render_template("auth/login.html", form=form)


@bp.route("/login/code", methods=["GET", "POST"], endpoint="second_factor")
def second_factor_step():
    """The sign-in's second step: a code from the authenticator app or a recovery code (field `code`)."""
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    staff = _pending_staff()
    if staff is None:
        return _pending_gone()
    if not staff.has_second_factor:
        return redirect(url_for("auth.enrol"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            used = second_factor.verify_sign_in_code(staff, form.code.data)
        except second_factor.CodeAttemptsExhausted as exc:
            # The lock, its audit entry and its mail stay: a redirect commits the request.
            session.pop(PENDING, None)
            flash(exc.message, "error")
            return redirect(url_for("auth.login"))
        except DomainError as exc:
            # The wrong-code count and the audit entry stay: the page answers 200, so the request commits.
            flash(exc.message, "error")
        else:
            next_page = complete_staff_sign_in(staff, used)
            if used == "recovery_code":
                left = second_factor.unused_recovery_codes(staff)
                flash(f"リカバリーコードを使用しました（残り{left}個）。使ったコードは二度と使えません。"
                      "残りが少ないときは、管理者に二要素認証のリセットを依頼して登録し直してください。", "warning")
            return redirect(next_page)
    return render_template("auth/second_factor.html", form=form, throttled=False)


@bp.route("/login/enrol", methods=["GET", "POST"])
def enrol():
    """First sign-in without a second factor: register an authenticator app (QR code or the secret typed
    in), prove it with a code, then see the ten recovery codes once. No console page opens before."""
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    staff = _pending_staff()
    if staff is None:
        return _pending_gone()
    if staff.has_second_factor:
        return redirect(url_for("auth.second_factor"))
    secret = second_factor.begin_enrolment(staff)
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = second_factor.confirm_enrolment(staff, form.code.data)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            next_page = complete_staff_sign_in(staff, "enrolment")
            # Shown once, in this answer only: the database keeps their hashes.
            return render_template("auth/recovery_codes.html", codes=codes, next_page=next_page)
    qr = Markup(second_factor.qr_code_svg(second_factor.provisioning_uri(staff, secret)))  # segno's own markup
    spaced = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template("auth/enrol.html", form=form, qr=qr, secret=spaced, staff=staff, throttled=False)


def throttled_page():
    """The page a throttled sign-in POST gets (429): the same step again, with the throttling message."""
    if request.endpoint == "auth.login":
        return render_template("auth/login.html", form=LoginForm(), throttled=True)
    return render_template("auth/second_factor.html", form=CodeForm(), throttled=True)


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
