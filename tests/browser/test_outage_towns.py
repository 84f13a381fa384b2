"""End to end in headless Chromium: an outage notice with a misspelt town is refused with the nearest towns,
corrected, previewed with its count per town and published (issue 15)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from console.extensions import db
from console.models import Contract, OutageNotice

pytestmark = pytest.mark.browser


def test_a_misspelt_town_is_refused_with_candidates_then_corrected_and_published(browser, new_staff, browser_app):
    title = f"試験 天神橋の断水 {uuid.uuid4().hex[:8]}"
    with browser_app.app_context():
        notices_before = db.session.scalar(select(func.count()).select_from(OutageNotice))
        in_town = db.session.scalar(select(func.count()).select_from(Contract).where(
            Contract.ward_code == "27127", Contract.town == "天神橋五丁目", Contract.stop_date.is_(None)))
    assert in_town > 0, "the demo data has customers in 天神橋五丁目"

    browser.open("/login")
    browser.sign_in(*new_staff("disaster_coordinator"))
    browser.open("/disaster/notices/new")
    browser.find("#title").send_keys(title)
    browser.find("#body").send_keys("配水管の破損により断水しています。")
    towns = browser.find("#towns_27127")
    towns.send_keys("天神攜5丁目")
    assert browser.find("#ward_27127").is_selected()  # typing a town ticks its ward (notice-towns.js)
    browser.submit(browser.button("下書きを保存してプレビュー", within=browser.find("[data-testid=notice-form]")))

    message = browser.wait_for_text("という町はありません")
    assert "北区に「天神攜5丁目」という町はありません。近い町名：天神橋" in message
    with browser_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutageNotice)) == notices_before
    towns = browser.find("#towns_27127")
    assert towns.get_attribute("value") == "天神攜5丁目"  # kept, to correct
    assert browser.find("#title").get_attribute("value") == title

    # The ward's town list is offered for the next town too, after what is typed so far.
    towns.clear()
    towns.send_keys("天神橋5丁目、")
    first_option = browser.driver.execute_script(
        "return document.getElementById('town-list-27127').options[0].value")
    assert first_option.startswith("天神橋5丁目、") and len(first_option) > len("天神橋5丁目、")
    towns.send_keys("梅田")
    browser.submit(browser.button("下書きを保存してプレビュー", within=browser.find("[data-testid=notice-form]")))

    browser.find("[data-testid=preview-recipients]")
    rows = {row.get_attribute("data-town"): row for row in browser.find_all("[data-testid=area-count]")}
    assert list(rows) == ["天神橋五丁目", "梅田"]
    assert int(rows["天神橋五丁目"].get_attribute("data-contracts")) == in_town
    assert "table-danger" not in rows["天神橋五丁目"].get_attribute("class")
    assert "【第1報】" in browser.find("[data-testid=mail-preview]").text

    browser.submit(browser.button("この内容で発表する"))
    browser.wait_for_text("第1報を発表しました。")
    assert "天神橋五丁目" in browser.find("[data-testid=version-1]").text
    with browser_app.app_context():
        notice = db.session.scalar(select(OutageNotice).order_by(OutageNotice.id.desc()))
        version = notice.versions[0]
        assert version.title == title and version.published_at is not None
        assert [a.town for a in version.areas] == ["天神橋五丁目", "梅田"]
