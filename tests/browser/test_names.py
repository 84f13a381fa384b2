"""End to end in headless Chromium: a name typed in its old form (髙橋) reaches a customer stored as 高橋."""

from __future__ import annotations

import uuid

import pytest

from console.extensions import db
from tests import factories

pytestmark = pytest.mark.browser


def test_an_operator_looks_up_an_old_form_and_reaches_the_customer(browser, new_staff, browser_app):
    tag = uuid.uuid4().hex[:8]
    with browser_app.app_context():
        contract = factories.contract(customer_number=f"T{int(tag, 16) % 10**9:09d}",
                                      settlement_number=f"24T{int(tag, 16) % 10**7:07d}",
                                      holder_name=f"高橋 試験{tag}", holder_kana="タカハシ シケン")
        contract_id, customer_number = contract.id, contract.customer_number
        db.session.commit()

    browser.open("/login")
    browser.sign_in(*new_staff("operator"))
    browser.submit(browser.link("お客さま検索"))
    browser.find("#q").send_keys(f"髙橋 試験{tag}")
    browser.submit(browser.button("検索"))

    results = browser.find("[data-testid=lookup-results]")
    rows = [r for r in results.find_elements("css selector", "tbody tr") if customer_number in r.text]
    assert len(rows) == 1, results.text
    assert f"高橋 試験{tag}" in rows[0].text and "契約者名（完全一致）" in rows[0].text
    assert "完全一致を先に表示" in browser.body_text()
    browser.submit(browser.link("開く", within=rows[0]))

    assert browser.path == f"/customer/contract/{contract_id}"
    assert f"高橋 試験{tag}" in browser.body_text()
