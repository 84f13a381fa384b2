"""The console speaks Japanese, including Flask-Admin's own words."""

from __future__ import annotations

from tests import factories


def test_list_page_is_japanese(client, login_as):
    login_as("admin")
    html = client.get("/staff/").get_data(as_text=True)
    assert "メールアドレス" in html and "権限" in html
    # Our catalogue's wording wins over the bundled terse/wrong entries.
    assert "選択した項目を" in html
    assert "移動»" not in html


def test_health_reports_database_and_redis(client):
    body = client.get("/healthz").get_json()
    assert body["checks"]["database"] == "ok"
    assert body["status"] == "ok"


def test_health_reports_configured_redis(client, rq_queue):
    body = client.get("/healthz").get_json()
    assert body["checks"]["redis"] == "ok"


def test_security_headers(client):
    staff = factories.staff("operator")
    from console.extensions import db
    from tests.conftest import sign_in

    db.session.commit()
    sign_in(client, staff.email, factories.PASSWORD)
    response = client.get("/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
