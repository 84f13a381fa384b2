"""Input hygiene at the boundary (issue 13): control characters, ids out of range, negative pages,
over-long text; and a failing statement's parameters stay out of the log."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from console import create_app
from console.extensions import db
from tests import factories
from tests.conftest import csrf_token

REFUSED = "制御文字"


@pytest.mark.parametrize("path", [
    "/lookup/?q=a%00b", "/lookup/?q=a%01b", "/lookup/?q=a%7fb", "/lookup/?q=a%c2%85b", "/lookup/?a%00=b",
    "/audit/edit/?url=a%0db", "/audit/edit/?url=a%0ab", "/staff/edit/?id=1&url=%0d%0aSet-Cookie:x", "/audit/%00",
])
def test_control_characters_in_a_url_are_refused_in_japanese(client, login_as, path):
    login_as("operator", "supervisor", "admin")
    response = client.get(path)
    assert response.status_code == 400, path
    assert REFUSED in response.get_data(as_text=True)


def test_control_characters_in_a_form_are_refused_and_change_nothing(client, login_as):
    admin = login_as("admin")
    token = csrf_token(client, f"/staff/edit/?id={admin.id}")
    response = client.post(f"/staff/edit/?id={admin.id}", data={
        "csrf_token": token, "name": "名前\x00です", "roles": ["admin"], "active": "y"})
    assert response.status_code == 400 and REFUSED in response.get_data(as_text=True)
    response = client.post(f"/staff/edit/?id={admin.id}", data={
        "csrf_token": token, "name": "名前", "roles": ["admin"], "active": "y", "url": "/staff/\r\nX: y"})
    assert response.status_code == 400 and REFUSED in response.get_data(as_text=True)
    db.session.expire_all()
    assert admin.name != "名前"


def test_tabs_and_line_breaks_in_a_form_pass(client, login_as):
    """A textarea sends CR LF, a value pasted from a spreadsheet a tab: neither is refused."""
    admin = login_as("admin")
    token = csrf_token(client, f"/staff/edit/?id={admin.id}")
    response = client.post(f"/staff/edit/?id={admin.id}", data={
        "csrf_token": token, "name": "\t新しい\r\n名前 ", "roles": ["admin"], "active": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.mark.parametrize("path", [
    "/customer/contract/2147483648", "/customer/contract/9223372036854775808", "/customer/account/99999999999999999999",
    "/name-changes/2147483648", "/applications/2147483648", "/disaster/notices/9223372036854775807",
])
def test_path_ids_past_the_id_column_are_not_found(client, login_as, path):
    login_as("operator", "supervisor", "disaster_coordinator")
    assert client.get(path).status_code == 404, path


@pytest.mark.parametrize("path", ["/public/alerts/2147483648.xml", "/public/alerts/9223372036854775808.xml"])
def test_public_ids_past_the_id_column_are_not_found(client, database, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("query", ["abc", "-1", "1.5", "2147483648", "9223372036854775808", "１", ""])
@pytest.mark.parametrize("view", ["staff/edit", "staff/details", "audit/details"])
def test_flask_admin_ids_that_name_no_row_go_back_to_the_list(client, login_as, view, query):
    login_as("operator", "supervisor", "admin")
    response = client.get(f"/{view}/", query_string={"id": query}, follow_redirects=True)
    assert response.status_code == 200, (view, query)
    if query:
        assert "該当するデータがありません" in response.get_data(as_text=True), (view, query)


def test_an_audit_id_past_the_integer_range_is_still_an_audit_id(client, login_as):
    """The audit trail's id is a bigint: 2**31 is a valid id there (no such row), not an error."""
    login_as("supervisor")
    response = client.get("/audit/details/", query_string={"id": str(2**31)}, follow_redirects=True)
    assert response.status_code == 200 and "該当するデータがありません" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/audit/", "/staff/", "/locked-accounts/"])
def test_a_negative_page_is_the_first_page(client, login_as, path):
    login_as("operator", "supervisor", "admin")
    response = client.get(path, query_string={"page": "-1"})
    assert response.status_code == 200, path


def test_a_failing_statement_logs_no_personal_data(app, caplog):
    """hide_parameters (config.py): the database's error names the statement, never the values bound to it."""
    failing = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "x",
                          "RATELIMIT_ENABLED": False, "REDIS_URL": None})
    phone, email = "090-9876-5432", "taro.secret@example.jp"

    @failing.get("/_fails")
    def _fails():
        db.session.execute(text("SELECT * FROM no_such_table WHERE phone = :phone AND email = :email"),
                           {"phone": phone, "email": email})
        return "unreachable"

    with caplog.at_level(logging.DEBUG):
        response = failing.test_client().get("/_fails")
    assert response.status_code == 500
    assert any(record.exc_info for record in caplog.records), "the failure was not logged"
    logged = "\n".join(caplog.text.splitlines()) + "".join(
        logging.Formatter().formatException(r.exc_info) for r in caplog.records if r.exc_info)
    assert "no_such_table" in logged
    assert phone not in logged and email not in logged
    with failing.app_context():
        db.engine.dispose()


def test_text_longer_than_its_column_is_refused_in_japanese_and_changes_nothing(client, login_as):
    """Found by the fuzzing on PostgreSQL: over-long names reached the VARCHAR (a 500 that logged them)."""
    admin = login_as("admin")
    token = csrf_token(client, f"/staff/edit/?id={admin.id}")
    response = client.post(f"/staff/edit/?id={admin.id}", data={
        "csrf_token": token, "name": "名" * 101, "roles": ["admin"], "active": "y"}, follow_redirects=True)
    assert response.status_code == 200 and "氏名は100文字以内で入力してください。" in response.get_data(as_text=True)
    db.session.expire_all()
    assert admin.name != "名" * 101


@pytest.mark.parametrize(("field", "message"), [
    ("new_holder_name", "新しい契約者名は200文字以内"), ("new_holder_kana", "新しい契約者名（カナ）は200文字以内"),
    ("identity_check", "本人確認・書類確認の方法は100文字以内"), ("note", "備考は4000文字以内"),
])
def test_a_name_change_longer_than_its_column_is_refused(database, field, message):
    from datetime import date

    from console.services import DomainError, holders

    staff, contract = factories.staff("operator"), factories.contract()
    values = {"new_holder_name": "新しい 名義", "new_holder_kana": "アタラシイ メイギ", "identity_check": "電話で確認",
              "note": None, field: "ア" * 4001}
    with pytest.raises(DomainError, match=message):
        holders.request_name_change(staff, contract, new_holder_kind="person", effective_date=date(2099, 1, 1), **values)
