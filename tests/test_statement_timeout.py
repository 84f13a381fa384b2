"""A web request's SQL statements have a time limit (PostgreSQL): a search that would hold a web worker
ends as a Japanese "narrow the search" page, and the next request is served at once."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from console.extensions import db
from tests import factories

pytestmark = pytest.mark.postgresql


def test_a_statement_past_the_limit_is_a_narrow_the_search_page(app, client, login_as, database_url, monkeypatch):
    login_as("operator")
    monkeypatch.setitem(app.config, "WEB_STATEMENT_TIMEOUT_SECONDS", 0.3)
    # Another session holds the bill table, so the list's SELECT waits: the same as a slow scan to the
    # request, which may wait no longer than its limit.
    other = create_engine(database_url)
    with other.connect() as conn:
        conn.execute(text("SET lock_timeout = '3s'"))
        conn.execute(text("LOCK TABLE bill IN ACCESS EXCLUSIVE MODE"))
        started = time.monotonic()
        page = client.get("/bills/", query_string={"period": "2025-01"})
        waited = time.monotonic() - started
        conn.rollback()
    other.dispose()
    body = page.get_data(as_text=True)
    assert page.status_code == 503, body
    assert 'lang="ja"' in body and "時間がかかりすぎ" in body and "絞り込んで" in body
    assert waited < 3  # cut at its limit, not after the other session let go
    assert client.get("/bills/", query_string={"period": "2025-01"}).status_code == 200


def test_no_limit_outside_a_request(app, database, monkeypatch):
    # Jobs, commands and migrations run outside a request: a long statement there is not cut.
    monkeypatch.setitem(app.config, "WEB_STATEMENT_TIMEOUT_SECONDS", 0.1)
    assert db.session.execute(text("SELECT pg_sleep(0.3), 1")).one()[1] == 1


def test_web_requests_get_the_default_limit(client, login_as):
    login_as("operator")  # the sign-in request's transaction is the test's: its SET LOCAL is visible here
    assert db.session.execute(text("SHOW statement_timeout")).scalar() == "5s"


def test_the_customer_pages_and_the_lookup_reuse_their_plans_and_the_lists_do_not(client, login_as):
    """The customer pages' and the lookup's statements are planned once and reused (web.plans_reused); the
    lists' are planned for each request's own values. Each request says so itself, with SET LOCAL: the
    setting ends with its transaction (here the test's, which holds every request's)."""
    login_as("operator")
    contract = factories.contract()
    db.session.commit()
    limit, reuse = "SET LOCAL statement_timeout = 5000", "SET LOCAL plan_cache_mode = force_generic_plan"
    expected = {"/contracts/": [limit], "/bills/": [limit],
                f"/lookup/?q={contract.customer_number}": [f"{limit}; {reuse}"],
                f"/customer/contract/{contract.id}": [f"{limit}; {reuse}"],
                f"/customer/contract/{contract.id}/timeline": [f"{limit}; {reuse}"],
                f"/customer/contract/{contract.id}/bills": [f"{limit}; {reuse}"]}
    settings = {}
    for url in expected:
        with factories.statements_run() as sent:
            assert client.get(url).status_code == 200, url
        settings[url] = [s for s in sent if s.startswith("SET ")]
    assert settings == expected
