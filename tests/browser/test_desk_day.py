"""In headless Chromium at 1366×768 (issue 15): an application's decision is in reach without scrolling and
its applicant's phone is masked until revealed; handover step ③ names the account's holder and needs a
tick when it differs; no page asks for a favicon that is not there (the browser fixture fails on a 404)."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from console.extensions import db
from console.services import handovers, holders
from tests import factories

pytestmark = pytest.mark.browser


def _numbers(tag: str, count: int, letter: str) -> list[tuple[str, str]]:
    base = int(tag, 16) % 10**6
    return [(f"{letter}{base:06d}{i:03d}", f"25{letter}{base % 10**4:04d}{i:03d}") for i in range(count)]


def _in_view(browser, element) -> bool:
    return browser.driver.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight;",
        element)


def test_decide_an_application_without_scrolling_past_its_tables(browser, new_staff, browser_app):
    tag = uuid.uuid4().hex[:8]
    place = dict(ward_code="27127", town="中崎西二丁目", address_line="7-7", building=f"長い表ハイツ{tag}")
    with browser_app.app_context():
        for i, (number, settlement) in enumerate(_numbers(tag, 25, "X")):
            factories.contract(customer_number=number, settlement_number=settlement, room=f"{300 + i}", **place)
        application = factories.start_application(applicant_name=f"試験 {tag}", phone="090-4321-8765", room="901",
                                                  email=f"applicant-{tag}@example.jp", **place)
        application_id = application.id
        db.session.commit()

    browser.driver.set_window_size(1366, 768)
    browser.open("/login")
    browser.sign_in(*new_staff("operator"))
    browser.open(f"/applications/{application_id}")
    assert len(browser.find("[data-testid=place-contracts]").find_elements("css selector", "tbody tr")) >= 25
    assert _in_view(browser, browser.button("承認して契約を作成する"))
    assert _in_view(browser, browser.button("却下して「使用開始申込失敗」を送る"))

    phone = browser.find("[data-testid=applicant-phone]")
    assert "090-4321-8765" not in browser.body_text() and "8765" in phone.text
    phone.find_element("css selector", "input[name=reason]").send_keys("折り返しのお電話のため")
    browser.submit(phone.find_element("css selector", "button[type=submit]"))
    assert browser.find("[data-testid=applicant-phone] [data-testid=revealed]").text == "090-4321-8765"
    assert f"applicant-{tag}@example.jp" not in browser.body_text()


def test_handover_step_three_shows_whose_account_it_is(browser, new_staff, browser_app):
    tag = uuid.uuid4().hex[:8]
    with browser_app.app_context():
        operator, supervisor = factories.staff("operator"), factories.staff("supervisor")
        old_account = factories.account(email=f"old-{tag}@example.jp", name="旧管理株式会社")
        contracts = []
        for i, (number, settlement) in enumerate(_numbers(tag, 3, "Y")):
            contract = factories.contract(customer_number=number, settlement_number=settlement, holder_kind="company",
                                          holder_name="旧管理株式会社", holder_kana="キュウカンリ")
            factories.link(old_account, contract, main=i == 0)
            contracts.append(contract)
        handover = handovers.open_handover(
            operator, old_company_name="旧管理株式会社", new_company_name=f"新管理{tag}株式会社",
            new_company_kana="シンカンリ", customer_numbers=" ".join(c.customer_number for c in contracts),
            target_date=date(2026, 12, 1), identity_check="管理委託契約書", old_account_id=old_account.id)
        for state in handovers.item_states(handover):
            holders.approve_name_change(supervisor, state.name_change.id)
        handovers.release_old_links(operator, handover, "管理会社の変更")
        stranger = factories.account(email=f"stranger-{tag}@example.jp", name=f"別人 {tag}")
        handover_id, stranger_id = handover.id, stranger.id
        db.session.commit()

    browser.driver.set_window_size(1366, 768)
    browser.open("/login")
    browser.sign_in(*new_staff("operator"))
    browser.open(f"/handovers/{handover_id}")
    browser.find("#new-account-id").send_keys(str(stranger_id))
    browser.submit(browser.button("利用者を確認"))
    confirm = browser.find("[data-testid=link-confirm]")
    assert f"別人 {tag}" in confirm.text and "異なります" in confirm.text
    assert f"stranger-{tag}@example.jp" not in browser.body_text()

    # Not ticked: the form does not go (the box is required) and nothing is linked.
    browser.button("③ この利用者に登録する（3件）", within=confirm).click()
    assert browser.path == f"/handovers/{handover_id}?account_id={stranger_id}"
    browser.find("#confirm-name").click()
    browser.submit(browser.button("③ この利用者に登録する（3件）", within=confirm))
    browser.wait_for_text("3件のお客さま番号を新管理会社の利用者")
    assert "これ以上の操作はありません" in browser.find("[data-testid=finished]").text
    assert not browser.find_all("[data-testid=handover-actions]")
