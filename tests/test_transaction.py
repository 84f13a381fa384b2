"""One transaction per request (console/transaction.py, console/web.py): the request commits once after the
view has answered, rolls back on an error or a refusal, and what waits for the commit runs only after it."""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import func, select

from console import ROOT, create_app, transaction
from console.extensions import db
from console.models import AuditEvent, PortalAccount
from console.services import DomainError
from tests import factories
from tests.conftest import csrf_token


def test_no_view_commits_or_rolls_back_by_hand():
    found = subprocess.run(["git", "grep", "-nE", r"session\.(commit|rollback)\(", "--", "console/views"],
                           cwd=ROOT, capture_output=True, text=True).stdout
    assert found == ""


def test_after_commit_runs_after_the_commit_and_never_after_a_rollback(database):
    ran = []
    contract = factories.contract()
    transaction.after_commit(ran.append, "first")
    transaction.rollback()
    assert ran == [] and transaction.pending() == []

    factories.account(email="after-commit@example.jp")
    transaction.after_commit(lambda: ran.append(
        db.session.scalar(select(func.count()).select_from(PortalAccount).where(
            PortalAccount.email == "after-commit@example.jp"))))
    assert transaction.commit() == []
    assert ran == [1] and transaction.pending() == []
    assert db.session.get(type(contract), contract.id) is None  # rolled back with the first transaction


def test_a_hook_that_must_wait_is_a_warning_and_the_change_stands(database):
    def redis_down():
        raise transaction.AfterCommitWarning("ジョブ実行基盤に接続できません。")

    factories.account(email="stands@example.jp")
    transaction.after_commit(redis_down)
    assert transaction.commit() == ["ジョブ実行基盤に接続できません。"]
    assert db.session.scalar(select(PortalAccount).where(PortalAccount.email == "stands@example.jp")) is not None


def test_a_refused_change_writes_nothing_and_says_why(client, login_as):
    login_as("operator")
    account = factories.account()
    db.session.commit()
    page = f"/customer/account/{account.id}"
    before = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "account.unlock"))
    response = client.post(f"{page}/unlock", data={"reason": "", "csrf_token": csrf_token(client, page)},
                           follow_redirects=True)
    assert response.status_code == 200 and "理由" in response.get_data(as_text=True)
    after = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "account.unlock"))
    assert after == before


@pytest.fixture()
def scratch_app(database_url, tmp_path):
    """An app of its own on the run's database, with two routes that write and then fail or refuse.

    Routes cannot be added to the suite's app once it has served a request; this one commits for real,
    so nothing here may hold the suite's rolled-back transaction open (no `database` fixture)."""
    app = create_app({"TESTING": True, "SECRET_KEY": "scratch", "SQLALCHEMY_DATABASE_URI": database_url,
                      "REDIS_URL": None, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                      "OUTBOX_DIR": str(tmp_path / "outbox")})

    @app.get("/_test/write-then-fail")
    def write_then_fail():
        factories.account(email="rolled-back@example.jp")
        return "refused", 409

    @app.post("/_test/refuse")
    def refuse():
        factories.account(email="refused@example.jp")
        raise DomainError("この操作はできません。画面を更新してください。")

    @app.get("/_test/refuse-page")
    def refuse_page():
        raise DomainError("このページは表示できません。")

    yield app
    with app.app_context():
        db.engine.dispose()


def _account_exists(app, email: str) -> bool:
    with app.app_context():
        return db.session.scalar(select(PortalAccount.id).where(PortalAccount.email == email)) is not None


def test_an_error_answer_rolls_the_request_back(scratch_app):
    assert scratch_app.test_client().get("/_test/write-then-fail").status_code == 409
    assert not _account_exists(scratch_app, "rolled-back@example.jp")


def test_an_uncaught_refusal_is_a_message_on_the_page_they_came_from_and_nothing_changes(scratch_app):
    client = scratch_app.test_client()
    response = client.post("/_test/refuse", headers={"Referer": "http://localhost/login"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/login")
    assert "この操作はできません" in client.get("/login").get_data(as_text=True)
    assert not _account_exists(scratch_app, "refused@example.jp")
    # A referrer from elsewhere is not followed.
    response = client.post("/_test/refuse", headers={"Referer": "https://elsewhere.example/"})
    assert response.status_code == 303 and "elsewhere" not in response.headers["Location"]


def test_a_page_refused_on_reload_goes_home_instead_of_looping(scratch_app):
    client = scratch_app.test_client()
    response = client.get("/_test/refuse-page", headers={"Referer": "http://localhost/_test/refuse-page"})
    assert response.status_code == 303 and not response.headers["Location"].endswith("/_test/refuse-page")
