"""End to end in headless Chromium (issue 14): a call taken by screen pop is recorded with a follow-up; a
second operator takes that follow-up with 次を引き受ける and closes it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from console.extensions import db
from console.models import Contact, FollowUp, FollowUpStatus, Staff
from tests import factories

pytestmark = pytest.mark.browser


def test_a_call_by_screen_pop_with_a_follow_up_taken_next_and_closed_by_a_colleague(browser, new_staff, browser_app):
    tag = uuid.uuid4().hex[:8]
    phone = f"06{int(tag, 16) % 10**8:08d}"
    with browser_app.app_context():
        contract = factories.contract(customer_number=f"C{int(tag, 16) % 10**9:09d}",
                                      settlement_number=f"24C{int(tag, 16) % 10**7:07d}", contract_phone=phone,
                                      holder_name=f"着信 {tag}")
        contract_id = contract.id
        db.session.commit()
        # No other promise waits for the desk, so "take next" must hand over this test's one.
        assert db.session.scalar(select(FollowUp.id).where(
            FollowUp.status == FollowUpStatus.OPEN, FollowUp.assignee_id.is_(None))) is None
    first = new_staff("operator")
    browser.open("/login")
    browser.sign_in(*first)

    # The telephony system opens the screen pop with the caller's number.
    browser.open(f"/lookup/?phone={phone}")
    browser.wait(lambda _d: browser.path.startswith(f"/customer/contract/{contract_id}"), "no screen pop")
    assert f"着信 {phone}" in browser.find("[data-testid=caller]").text
    browser.submit(browser.find("[data-testid=record-contact]"))
    assert browser.path.startswith("/contacts/new")
    # The form is ready for the keyboard: the first field has the focus, the caller's number is in.
    assert browser.driver.execute_script("return document.activeElement.id") == "category"
    assert browser.find("#caller_phone").get_attribute("value") == phone

    from selenium.webdriver.support.ui import Select

    Select(browser.find("#category")).select_by_visible_text("料金・水量のお問い合わせ")
    faq = browser.wait_for_text("Q23", "#contact-faq")  # contacts.js shows the category's answers
    assert "支払済" in faq
    browser.find("#memo").send_keys(f"先月の水量が多いとのお問い合わせ {tag}")
    browser.find("#outcome").send_keys("検針値を確認して折り返すと約束")
    browser.find("#follow_up_what").send_keys(f"検針値を確認して折り返し {tag}")
    days = browser.find("#follow_up_days")
    days.clear()
    days.send_keys("2")
    browser.submit(browser.button("記録する"))
    assert "応対を記録しました" in " ".join(browser.flashes())
    assert f"検針値を確認して折り返し {tag}" in browser.find("[data-testid=contact-follow-ups]").text
    browser.sign_out()

    second = new_staff("operator")
    browser.sign_in(*second)
    desk = browser.find("[data-testid=home-follow-ups]").text
    assert "窓口の対応待ち" in desk and f"検針値を確認して折り返し {tag}" in desk
    browser.submit(browser.button("次を引き受ける"))
    assert "引き受けました" in " ".join(browser.flashes())
    assert f"検針値を確認して折り返し {tag}" in browser.find("[data-testid=follow-up-promise]").text
    browser.find("#outcome").send_keys("折り返し電話で検針値を説明し、了承いただいた")
    browser.submit(browser.button("完了として記録"))
    assert "対応待ちを完了し" in " ".join(browser.flashes())
    assert "折り返し電話で検針値を説明し" in browser.find("[data-testid=contact-detail]").text

    with browser_app.app_context():
        follow_up = db.session.scalar(select(FollowUp).where(FollowUp.what == f"検針値を確認して折り返し {tag}"))
        taker = db.session.scalar(select(Staff).where(Staff.email == second[0]))
        assert follow_up.status == FollowUpStatus.CLOSED and follow_up.closed_by_id == taker.id
        assert follow_up.assignee_id == taker.id
        closing = db.session.get(Contact, follow_up.closing_contact_id)
        assert closing.contract_id == contract_id and closing.staff_id == taker.id
        db.session.remove()
