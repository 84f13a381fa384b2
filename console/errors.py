"""Japanese error pages, registered in one place: every refusal (abort, routing, Flask-Admin's 403, an
expired form's CSRF token, an unhandled exception) ends on a page that says what happened, what to do
next and how to get home — inside the console's layout, or the public pages' own plain one."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, current_app, g, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from . import clock, transaction
from .web import browser_signed_in

log = logging.getLogger(__name__)

# status → (what happened, what to do next). 429 on the sign-in POST keeps the sign-in page (web.py).
MESSAGES: dict[int, tuple[str, str]] = {
    400: ("リクエストを処理できませんでした。",
          "入力内容に誤りがあるか、ページが古くなっています。前のページに戻り、もう一度お試しください。"),
    403: ("このページを表示する権限がありません。",
          "必要な業務であれば、スーパーバイザーまたは管理者に権限の付与を依頼してください。"),
    404: ("お探しのページは見つかりませんでした。",
          "アドレスが間違っているか、データが存在しません。メニューや検索から探し直してください。"),
    405: ("この方法ではこのページを操作できません。",
          "ページを開き直し、画面のボタンから操作してください。"),
    413: ("送信されたデータが大きすぎます。",
          "内容を減らしてから、もう一度送信してください。"),
    429: ("短い時間にリクエストが集中したため、受け付けられませんでした。",
          "しばらく待ってから、もう一度お試しください。"),
    503: ("処理に時間がかかりすぎたため、途中で打ち切りました。",
          "条件を絞り込んで（区と町名、請求月と支払状況、お客さま番号など）もう一度検索してください。"),
    500: ("システムでエラーが発生しました。",
          "時間をおいてもう一度お試しください。続く場合はシステム管理者に連絡してください（発生時刻をお伝えください）。"),
}
TITLES = {400: "不正なリクエスト", 403: "権限がありません", 404: "ページが見つかりません", 405: "操作できません",
          413: "データが大きすぎます", 429: "しばらくお待ちください", 500: "システムエラー",
          503: "時間がかかりすぎました"}
# PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout (web.py sets it per request).
QUERY_CANCELED = "57014"
# The embedded SQLite's writers queue for one lock (web.py: BEGIN IMMEDIATE, busy_timeout); one that waited
# longer than busy_timeout gets this page, not a 500.
BUSY = ("ほかの処理が混み合っているため、受け付けられませんでした。",
        "少し待ってから、もう一度お試しください。この操作の内容は保存されていません。", "混み合っています")
CSRF_EXPIRED = "フォームの有効期限が切れました。もう一度送信してください。"
PUBLIC_PREFIX = "/public"
# The sign-in's steps whose POSTs are throttled: a refusal shows the same step again, not an error page.
SIGN_IN_STEPS = ("auth.login", "auth.second_factor", "auth.enrol")


def _is_public() -> bool:
    return request.path == PUBLIC_PREFIX or request.path.startswith(PUBLIC_PREFIX + "/")


def _same_host_referrer() -> str | None:
    back = request.referrer
    if back and urlsplit(back).netloc == request.host:
        return back
    return None


def _japanese(text: str | None) -> bool:
    # A description given by our own code (boundary.REFUSED) is Japanese; Werkzeug's defaults are English.
    return bool(text) and any(ord(ch) > 0x3000 for ch in text)


def _render(status: int, *, detail: str | None = None, back: str | None = None, resend: dict | None = None,
            message: tuple[str, str, str] | None = None, signed_in: bool | None = None):
    what, next_step = MESSAGES.get(status, MESSAGES[500 if status >= 500 else 400])
    title = TITLES.get(status, TITLES[500 if status >= 500 else 400])
    if message is not None:  # (what happened, what to do next, title) for a cause the status does not tell
        what, next_step, title = message
    context = dict(status=status, title=title, what=what, next_step=next_step, detail=detail, back=back,
                   resend=resend)
    if _is_public():
        return render_template("public/error.html", generated_at=clock.now(), **context), status
    if signed_in is None:
        signed_in = current_user.is_authenticated
    home = url_for("admin.index") if signed_in else url_for("auth.login")
    (admin,) = current_app.extensions["admin"]
    body = admin.index_view.render("console/error.html", signed_in=signed_in, home=home, **context)
    return body, status


def _fallback(status: int, message: tuple[str, str, str] | None = None):
    # When even the page cannot be drawn (the database is gone, say): plain Japanese, no layout.
    what, next_step = MESSAGES.get(status, MESSAGES[500])
    title = TITLES.get(status, "エラー")
    if message is not None:
        what, next_step, title = message
    html = (f'<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>{escape(title)}'
            f'</title></head><body><h1>{escape(what)}</h1><p>{escape(next_step)}</p>'
            f'<p><a href="/">ホームへ戻る</a></p></body></html>')
    return html, status, {"Content-Type": "text/html; charset=utf-8"}


def _safe(status: int, **kwargs):
    try:
        return _render(status, **kwargs)
    except Exception:  # noqa: BLE001 - an error page must always answer
        log.exception("error page %s could not be rendered", status)
        transaction.rollback()
        return _fallback(status, kwargs.get("message"))


def handle_http_exception(error: HTTPException):
    """Any HTTP refusal (400–4xx, 5xx) as a Japanese page; its status is kept."""
    if error.code is None or error.code < 400:
        return error
    if isinstance(error, CSRFError):
        return handle_csrf_error(error)
    if error.code == 429 and request.endpoint in SIGN_IN_STEPS and request.method == "POST":
        from .views.auth import throttled_page

        return throttled_page(), 429
    detail = error.description if _japanese(error.description) else None
    back = _same_host_referrer() if error.code in (400, 405, 413) else None
    return _safe(error.code, detail=detail, back=back)


def handle_csrf_error(error: CSRFError):
    """An expired or missing form token: say so, and offer to send the same input again.

    The input is offered back only when the form came from this console (a same-host referrer), so a
    form posted from another site never turns into a filled-in button here."""
    back = _same_host_referrer()
    resend = None
    if back is not None and request.method == "POST" and not _is_public():
        resend = {
            "action": request.full_path.rstrip("?"),
            # Never a password (sign-in, one's own password change and its confirmation) back into a page.
            "fields": [(k, v) for k, v in request.form.items(multi=True) if k != "csrf_token"
                       and "password" not in k],
        }
    return _safe(400, detail=CSRF_EXPIRED, back=back, resend=resend)


def handle_server_error(error: Exception):
    """An unhandled exception: logged with its traceback, shown as a page that says nothing of it."""
    # Flask has already logged the original exception with its traceback (Flask.log_exception).
    transaction.rollback()
    return _safe(500)


def handle_database_error(error: DBAPIError):
    """A statement that ran past the web requests' statement_timeout: a page that says how to narrow the
    search, and the worker free again. Any other database error is a 500, logged like one."""
    transaction.rollback()
    if getattr(error.orig, "sqlstate", None) == QUERY_CANCELED:
        log.warning("statement timeout: %s %s", request.method, request.path)
        return _safe(503, back=_same_host_referrer())
    if isinstance(error, OperationalError) and "database is locked" in str(error.orig):
        log.warning("embedded database busy past its busy_timeout: %s %s", request.method, request.path)
        # The member's record cannot be read while the lock is held (it would wait again): the page is
        # drawn in the layout without their menu, and its link goes home.
        g._login_user = current_app.login_manager.anonymous_user()
        return _safe(503, back=_same_host_referrer(), message=BUSY, signed_in=browser_signed_in())
    current_app.log_exception(error)
    return _safe(500)


def configure_errors(app: Flask) -> None:
    """Register the error pages (after the views, so Flask-Admin's own aborts land here too)."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(InternalServerError, handle_server_error)
    app.register_error_handler(DBAPIError, handle_database_error)
