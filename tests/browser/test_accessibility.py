"""Accessibility, layout and keyboard use in headless Chromium: every role's main pages pass axe-core
(checked on every page by the `browser` fixture) with a label on every field, the menu keeps to one row
at 1366 px, errors are Japanese pages with a way home, and the desk's main path works without a mouse."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from console.extensions import db
from console.models import (
    AccountLink,
    AuditEvent,
    Contract,
    OutageNotice,
    PortalAccount,
    Staff,
    StartApplication,
    SupplyPoint,
)

pytestmark = pytest.mark.browser

ROLES = ("operator", "supervisor", "disaster_coordinator", "admin")

# The pages each role works in, as a new member of staff would walk them ({…}: a row of the demo data).
CUSTOMER_DESK = (
    "/", "/lookup/", "/lookup/?q=山田", "/customer/account/{account}", "/customer/contract/{contract}",
    "/registration-check/", "/locked-accounts/", "/contracts/", "/bills/",
    "/applications/", "/applications/{application}", "/applications/stops", "/applications/payment-changes",
    "/applications/not-started", "/applications/new", "/applications/stops/new/{contract}",
    "/name-changes/", "/name-changes/new/{contract}", "/handovers/", "/handovers/new",
    "/reissue/", "/reissue/new/{contract}",
)
MAIN_PAGES = {
    "operator": CUSTOMER_DESK,
    "supervisor": CUSTOMER_DESK + (
        "/audit/", "/audit/details/?id={audit}", "/reports/", "/print-batches/",
    ),
    "disaster_coordinator": (
        "/", "/disaster/notices/", "/disaster/notices/new", "/disaster/notices/{notice}",
        "/disaster/supply-points/", "/disaster/supply-points/new", "/disaster/supply-points/{point}",
        "/disaster/supply-points/{point}/edit", "/public/", "/public/alerts", "/public/supply-points",
    ),
    "admin": ("/", "/staff/", "/staff/new/", "/staff/details/?id={staff}", "/staff/edit/?id={staff}"),
}
# A page of another role's work, refused (403) to each role.
FORBIDDEN = {
    "operator": "/reports/",
    "supervisor": "/staff/",
    "disaster_coordinator": "/lookup/",
    "admin": "/disaster/notices/",
}


@pytest.fixture(scope="module")
def demo_rows(browser_app) -> dict[str, int]:
    """Ids of demo-data rows that the tour opens."""
    with browser_app.app_context():
        first = {
            "account": select(AccountLink.account_id).join(PortalAccount).where(PortalAccount.withdrawn_at.is_(None)),
            "contract": select(Contract.id).where(Contract.stop_date.is_(None)),
            "application": select(StartApplication.id),
            "notice": select(OutageNotice.id),
            "point": select(SupplyPoint.id),
            "audit": select(AuditEvent.id),
            "staff": select(Staff.id),
        }
        rows = {name: db.session.scalar(query.order_by(query.selected_columns[0]).limit(1))
                for name, query in first.items()}
        db.session.rollback()
    assert all(rows.values()), rows  # the demo data holds one of each
    return rows


@pytest.mark.parametrize("role", ROLES)
def test_each_roles_main_pages_have_no_serious_accessibility_violation_and_label_every_field(
        browser, new_staff, demo_rows, role):
    browser.open("/login")
    assert browser.unlabelled_fields() == []
    browser.sign_in(*new_staff(role))
    for template in MAIN_PAGES[role]:
        path = template.format(**demo_rows)
        browser.open(path)  # axe-core runs here: a critical or serious violation fails the test
        assert not browser.find_all("[data-testid=error-page]"), (path, browser.body_text()[:300])
        assert browser.unlabelled_fields() == [], path
        assert browser.driver.execute_script("return document.documentElement.lang;") == "ja", path
        assert len(browser.find_all("main")) == 1, path
        assert len(browser.find_all("h1")) == 1, path


def _menu_layout(browser) -> dict:
    return browser.driver.execute_script("""
        var nav = document.querySelector('nav.navbar');
        var items = Array.prototype.map.call(
          nav.querySelectorAll('.navbar-brand, .navbar-nav > li > .nav-link, [data-testid=signed-in-as], '
                               + '[data-testid=sign-out]'),
          function (e) { var r = e.getBoundingClientRect();
                         return {text: e.textContent.trim(), top: r.top, bottom: r.bottom, height: r.height}; });
        var line = parseFloat(getComputedStyle(nav.querySelector('.nav-link')).lineHeight);
        return {height: nav.getBoundingClientRect().height, items: items, line: line,
                width: document.documentElement.clientWidth,
                overflow: document.documentElement.scrollWidth > document.documentElement.clientWidth};""")


@pytest.mark.parametrize("roles", [(r,) for r in ROLES] + [ROLES], ids=list(ROLES) + ["every-role"])
def test_the_menu_fits_one_row_at_1366_pixels_for_each_role(browser, new_staff, roles):
    browser.driver.set_window_size(1366, 768)
    browser.open("/login")
    browser.sign_in(*new_staff(*roles))
    layout = _menu_layout(browser)
    assert layout["width"] <= 1366
    texts = [i["text"] for i in layout["items"]]
    assert "ログアウト" in texts and any("ブラウザ試験" in t for t in texts), texts
    assert len(texts) >= 3, texts
    # One row: every entry is one line high, and they all sit in the same band.
    for item in layout["items"]:
        assert item["height"] < 2 * layout["line"], (item, layout["line"])
    middles = [(i["top"] + i["bottom"]) / 2 for i in layout["items"]]
    assert max(middles) - min(middles) < layout["line"], layout["items"]
    assert layout["height"] < 70, layout  # Bootstrap's one-row navbar is 56 px; two rows are over 90
    assert not layout["overflow"], layout


@pytest.mark.parametrize("role", ROLES)
def test_a_missing_page_and_a_refused_page_are_japanese_pages_with_a_way_home(browser, new_staff, role):
    browser.open("/login")
    browser.sign_in(*new_staff(role))
    for path, status, title in (("/no-such-page", "404", "ページが見つかりません"),
                                (FORBIDDEN[role], "403", "権限がありません")):
        browser.open(path)
        # The browser logs the refused document itself; nothing else may fail on the page.
        assert [e for e in browser.console_errors() if f"status of {status}" not in e] == []
        error = browser.find("[data-testid=error-page]")
        assert error.get_attribute("data-status") == status
        assert browser.find("[data-testid=error-title]").text == title
        assert browser.driver.execute_script("return document.documentElement.lang;") == "ja"
        assert browser.find("[data-testid=signed-in-as]").text.startswith("ブラウザ試験")
        browser.submit(browser.find("[data-testid=error-home]"))
        assert browser.path == "/"


def test_the_home_page_has_the_lookup_box_focused(browser, new_staff):
    browser.open("/login")
    browser.sign_in(*new_staff("operator"))
    assert browser.path == "/"
    box = browser.find("[data-lookup-search]")
    assert browser.driver.switch_to.active_element == box
    assert box.get_attribute("name") == "q"


def test_the_keyboard_path_from_slash_to_a_customer_page(browser, new_staff):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    def keys(*sequence) -> None:
        ActionChains(browser.driver).send_keys(*sequence).perform()

    def focused():
        return browser.driver.switch_to.active_element

    browser.open("/login")
    browser.sign_in(*new_staff("operator"))
    browser.open("/applications/")  # a page without the search box
    assert not browser.find_all("[data-lookup-search]")
    browser.mark_page()
    keys("/")
    browser.wait_for_new_page()
    assert browser.path == "/lookup/"
    assert focused().get_attribute("data-lookup-search") is not None

    browser.mark_page()
    keys("090-1234-5678", Keys.ENTER)
    browser.wait_for_new_page()
    assert browser.path.startswith("/lookup/?q=090-1234-5678")

    # "/" on a page with the box focuses it without leaving the page, and is not typed into it.
    focused().send_keys(Keys.SHIFT, Keys.TAB)  # leave the box
    assert focused().get_attribute("data-lookup-search") is None
    keys("/")
    assert focused().get_attribute("data-lookup-search") is not None
    assert focused().get_attribute("value") == "090-1234-5678"
    assert browser.path.startswith("/lookup/?q=")

    for _ in range(30):  # Tab through the results to the first customer's 開く
        keys(Keys.TAB)
        element = focused()
        if element.tag_name == "a" and element.text == "開く":
            break
    else:
        pytest.fail("Tab never reached a customer's 開く link")
    browser.mark_page()
    keys(Keys.ENTER)
    browser.wait_for_new_page()
    assert browser.path.startswith("/customer/")
    assert "山田 太郎" in browser.body_text()


def test_slash_is_typed_into_a_field_not_taken_as_the_shortcut(browser, new_staff):
    from selenium.webdriver.common.keys import Keys

    browser.open("/login")
    browser.sign_in(*new_staff("disaster_coordinator"))
    browser.open("/disaster/notices/new")
    field = browser.find("#title")
    field.send_keys("1/2 断水")
    field.send_keys(Keys.END, "/")
    assert field.get_attribute("value") == "1/2 断水/"
    assert browser.path == "/disaster/notices/new"
