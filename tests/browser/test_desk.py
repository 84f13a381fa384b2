"""End to end in headless Chromium: the desk's main paths through the real pages, scripts and headers."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from console.extensions import db
from console.models import ApplicationStatus, Contract, OutageNotice, StartApplication
from tests import factories

pytestmark = pytest.mark.browser

FULL_WIDTH_PHONE = "０９０－１２３４－５６７８"  # 山田 太郎 of the demo data, as a caller reads it out


def _tag() -> str:
    return uuid.uuid4().hex[:8]


def test_sign_in_refuses_a_wrong_password_then_returns_to_the_page_asked_for(browser, new_staff):
    email, password = new_staff("operator")
    browser.open("/lookup/")
    browser.wait(lambda _d: browser.path.startswith("/login?next="), "anonymous user not sent to sign in")

    browser.find("input[name=email]").send_keys(email)
    browser.find("input[name=password]").send_keys("not-the-password")
    browser.submit(browser.button("ログイン"))
    assert "メールアドレスまたはパスワードが正しくありません。" in browser.body_text()
    assert not browser.find_all("[data-testid=signed-in-as]")

    browser.sign_in(email, password)
    assert browser.path == "/lookup/"
    assert "ブラウザ試験 operator" in browser.find("[data-testid=signed-in-as]").text

    browser.sign_out()
    browser.open("/lookup/")
    browser.wait(lambda _d: browser.path.startswith("/login"), "the session outlived sign-out")


def test_lookup_by_a_full_width_phone_number_opens_the_customer_view(browser, new_staff):
    browser.open("/login")
    browser.sign_in(*new_staff("operator"))
    browser.submit(browser.link("お客さま検索"))

    browser.find("#q").send_keys(FULL_WIDTH_PHONE)
    browser.submit(browser.button("検索"))
    results = browser.find("[data-testid=lookup-results]")
    rows = [r for r in results.find_elements("css selector", "tbody tr")
            if "マイページ" in r.text and "山田 太郎" in r.text]
    assert len(rows) == 1, results.text
    browser.submit(browser.link("開く", within=rows[0]))

    assert browser.path.startswith("/customer/account/")
    summary = browser.find("[data-testid=account-summary]").text
    assert "山田 太郎" in summary
    assert "y＊＊＊@example.jp" in summary
    page = browser.body_text()
    assert "B000000001" in page
    # Personal data stays masked until revealed with a reason.
    assert "yamada.taro@example.jp" not in page
    assert "090-1234-5678" not in page


def test_accept_a_start_application_after_ticking_its_warnings(browser, new_staff, browser_app):
    tag = _tag()
    place = dict(ward_code="27127", town="中崎西三丁目", address_line="9-9", building=f"試験ハイツ{tag}", room="305")
    with browser_app.app_context():
        factories.contract(customer_number=f"W{int(tag, 16) % 10**9:09d}",
                           settlement_number=f"24W{int(tag, 16) % 10**7:07d}", **place)
        application = factories.start_application(applicant_name=f"試験 {tag}", applicant_kana="シケン", **place)
        application_id = application.id
        db.session.commit()

    browser.open("/login")
    browser.sign_in(*new_staff("operator"))
    browser.submit(browser.link("使用開始・中止申込"))
    queue = browser.find("[data-testid=start-applications]")
    rows = [r for r in queue.find_elements("css selector", "tbody tr") if f"試験 {tag}" in r.text]
    assert len(rows) == 1, queue.text
    browser.submit(browser.link("開く", within=rows[0]))
    assert browser.path == f"/applications/{application_id}"

    warnings = browser.find("[data-testid=warnings]")
    assert "同じ建物・同じ部屋（305）に使用中の契約があります" in warnings.text
    boxes = warnings.find_elements("css selector", "input[type=checkbox][name=acknowledge]")
    assert boxes

    # Not acknowledged: refused, nothing decided.
    browser.submit(browser.button("承認して契約を作成する"))
    assert browser.path == f"/applications/{application_id}"
    refusal = browser.find(".alert-danger").text
    assert "確認が必要な注意事項があります。" in refusal, browser.flashes()
    assert browser.find("h5 .badge").text == "未処理"

    for box in browser.find_all("[data-testid=warnings] input[name=acknowledge]"):
        box.click()
        assert box.is_selected()
    browser.submit(browser.button("承認して契約を作成する"))
    browser.wait_for_text("承認しました。お客さま番号")
    assert browser.find("h5 .badge").text == "承認済"
    new_number = browser.find("[data-testid=application] a.text-monospace").text

    with browser_app.app_context():
        row = db.session.get(StartApplication, application_id)
        assert row.status == ApplicationStatus.ACCEPTED
        assert row.contract.customer_number == new_number
        assert db.session.scalar(select(Contract).where(Contract.customer_number == new_number)) is not None


def test_publish_an_outage_notice_and_read_it_on_the_public_page(browser, new_staff, browser_app):
    title = f"試験 断水のお知らせ {_tag()}"
    browser.open("/login")
    browser.sign_in(*new_staff("disaster_coordinator"))
    browser.open("/disaster/notices/")
    browser.submit(browser.link("新しいお知らせ"))

    form = browser.find("[data-testid=notice-form]")
    browser.find("#title").send_keys(title)
    browser.find("#body").send_keys("水道管の破損により断水しています。")
    browser.find("#guidance").send_keys("応急給水拠点をご利用ください。")
    ward = browser.find("#ward_27127")
    ward.click()
    assert ward.is_selected()
    browser.submit(browser.button("下書きを保存してプレビュー", within=form))
    browser.find("[data-testid=preview-recipients]")
    preview_path = browser.path
    assert title in browser.find("[data-testid=mail-preview]").text

    # A draft is not public.
    browser.open("/public/")
    browser.find("main")
    assert title not in browser.body_text()
    browser.open(preview_path)

    browser.submit(browser.button("この内容で発表する"))
    browser.wait_for_text("第1報を発表しました。")
    assert title in browser.find("[data-testid=version-1]").text

    browser.sign_out()
    browser.open("/public/")

    def published(_driver):
        # The public page is cached for a second per process: reload until the new notice is there.
        cards = [c for c in browser.find_all("[data-testid=public-notice]") if title in c.text]
        if not cards:
            browser.driver.refresh()
        return cards[0] if cards else None

    card = browser.wait(published, "the published notice never appeared on /public/", poll=0.25)
    assert "北区" in card.text
    assert "水道管の破損により断水しています。" in card.text
    assert "応急給水拠点をご利用ください。" in card.text
    assert not browser.find_all("[data-testid=signed-in-as]")
    with browser_app.app_context():
        notice = db.session.get(OutageNotice, int(preview_path.split("/")[3]))
        assert [v.title for v in notice.versions if v.published_at] == [title]


def test_the_navigation_drop_down_opens_without_a_script_the_csp_blocks(browser, new_staff):
    browser.open("/login")
    browser.sign_in(*new_staff("disaster_coordinator"))
    browser.link("災害対応").click()
    entry = browser.link("断水等のお知らせ")  # shown by Bootstrap's drop-down script
    errors = browser.console_errors()
    browser.submit(entry)
    assert browser.path == "/disaster/notices/"
    assert not errors, errors


def test_build_and_download_a_report(browser, new_staff, downloads):
    from openpyxl import load_workbook

    browser.open("/login")
    browser.sign_in(*new_staff("supervisor"))
    browser.submit(browser.link("レポート"))
    card = browser.find("[data-testid=report-usage]")
    browser.submit(browser.button("作成", within=card))

    assert browser.path.startswith("/reports/runs/")
    # The link shows once the file is ready: at once here, as jobs run inline without Redis.
    link = browser.find("[data-testid=report-progress] [data-role=download] a")
    assert browser.find("[data-role=label]").text == "完了"
    link.click()

    def downloaded(_driver):
        files = list(downloads.iterdir())
        done = [f for f in files if f.suffix == ".xlsx"]
        return done[0] if done and not any(f.suffix == ".crdownload" for f in files) else None

    path = browser.wait(downloaded, "no .xlsx was downloaded", timeout=20)
    workbook = load_workbook(path, read_only=True)
    assert "区別・月別" in workbook.sheetnames
    rows = list(workbook["区別・月別"].iter_rows(values_only=True))
    header = next(r for r in rows if r and r[0] == "年月")
    assert header[:3] == ("年月", "区", "請求件数")
    data = rows[rows.index(header) + 1:]
    assert any(r[1] == "北区" and r[2] for r in data), data[:5]
