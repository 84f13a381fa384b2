"""The console's layout as served: a Japanese document with landmarks, the staff member's name in the
menu, the menu grouped so that it keeps to one row, and the lookup box on home for those who may search
(the browser tests check the same pages in Chromium: tests/browser/test_accessibility.py)."""

from __future__ import annotations

import re

import pytest
from lxml import html

from console.models import Role
from tests.conftest import csrf_token

ROLES = [r.value for r in Role]
LOOKUP_ROLES = {"operator", "supervisor"}
PAGES = {"operator": "/applications/", "supervisor": "/reports/", "disaster_coordinator": "/disaster/notices/",
         "admin": "/staff/"}


def _page(client, path: str):
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return html.fromstring(response.get_data(as_text=True))


@pytest.mark.parametrize("role", ROLES)
def test_every_page_is_a_japanese_document_with_landmarks_and_the_staff_name(client, login_as, role):
    staff = login_as(role)
    for path in ("/", PAGES[role]):
        doc = _page(client, path)
        assert doc.get("lang") == "ja"
        assert len(doc.findall(".//main")) == 1 and doc.find(".//main").get("id") == "main"
        assert doc.xpath("//a[contains(@class, 'skip-link')]/@href") == ["#main"]
        assert len(doc.findall(".//h1")) == 1
        nav = doc.find(".//nav")
        assert nav.get("aria-label") == "メインメニュー"
        assert nav.xpath("string(.//*[@data-testid='signed-in-as'])").strip() == staff.name
        assert f"#{staff.id}" not in nav.text_content()
        assert not doc.xpath("//script[not(@src)]")  # CSP: no inline script
        assert "/static/console.js" in doc.xpath("//script/@src")


def test_the_menu_groups_the_desk_pages_in_drop_downs(client, login_as):
    login_as("operator", "supervisor", "disaster_coordinator", "admin")
    nav = _page(client, "/").find(".//nav")
    top = [re.sub(r"\s+", "", a.text_content()) for a in nav.xpath(".//ul[contains(@class, 'navbar-nav')]/li/a")]
    assert top == ["お客さま検索", "お客さま", "使用開始・中止申込", "契約の変更", "再発行", "災害対応", "レポート", "管理"]
    groups = {a.text_content().strip(): [i.text_content().strip() for i in a.getparent().xpath(".//a[@class='dropdown-item']")]
              for a in nav.xpath(".//a[contains(@class, 'dropdown-toggle')]")}
    assert groups["お客さま"] == ["登録トラブル確認", "ロック中の利用者", "契約一覧", "請求一覧", "応対履歴（未特定）", "対応待ち"]
    assert groups["契約の変更"] == ["名義変更", "管理会社の変更"]
    assert groups["管理"] == ["監査ログ", "職員", "応対分類"]
    assert not nav.xpath(".//a[@href='javascript:void(0)']")


def test_an_operator_sees_only_the_groups_of_their_work(client, login_as):
    login_as("operator")
    nav = _page(client, "/").find(".//nav")
    top = [re.sub(r"\s+", "", a.text_content()) for a in nav.xpath(".//ul[contains(@class, 'navbar-nav')]/li/a")]
    # 災害対応 holds the read-only outage notices the desk answers calls about.
    assert top == ["お客さま検索", "お客さま", "使用開始・中止申込", "契約の変更", "再発行", "災害対応"]
    assert nav.xpath(".//a[@class='dropdown-item']/@href").count("/print-batches/") == 0


@pytest.mark.parametrize("role", ROLES)
def test_home_has_the_focused_lookup_box_for_those_who_may_search(client, login_as, role):
    login_as(role)
    doc = _page(client, "/")
    boxes = doc.xpath("//input[@data-lookup-search]")
    if role in LOOKUP_ROLES:
        (box,) = boxes
        assert box.get("name") == "q" and box.get("autofocus") is not None
        assert box.getparent().get("action") == "/lookup/" and box.getparent().get("method") == "get"
        assert doc.xpath(f"//label[@for='{box.get('id')}']/text()") == ["検索語"]
        assert doc.find(".//body").get("data-lookup-url") == "/lookup/"
    else:
        assert boxes == []
        assert doc.find(".//body").get("data-lookup-url") is None


def test_every_menu_page_decides_access_by_roles_alone(app):
    # views/chrome.py keeps each menu per set of roles: a page whose access depended on anything else
    # would be shown or hidden by whoever opened a page first.
    from console.views.base import RoleRequired

    admin = app.extensions["admin"][0]
    in_menu = [v for v in admin._views if v.is_visible()]
    assert len(in_menu) > 15
    for view in in_menu:
        assert type(view).is_accessible is RoleRequired.is_accessible, view.endpoint


def test_the_kept_menu_follows_the_roles_and_the_page(app, client, login_as):
    def nav(path):
        return _page(client, path).find(".//nav")

    def active(doc):
        return [re.sub(r"\s+", "", a.text_content()) for a in doc.xpath(".//*[contains(@class, 'active')]/a[1]")
                + doc.xpath(".//a[@aria-current='page']")]

    login_as("operator")
    on_contracts = nav("/contracts/")
    assert active(on_contracts) == ["お客さま", "契約一覧"]
    assert not on_contracts.xpath(".//a[@href='/staff/']")
    assert active(nav("/applications/")) == ["使用開始・中止申込", "使用開始・中止申込"]
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login_as("admin")
    on_staff = nav("/staff/")
    assert active(on_staff) == ["管理", "職員"]
    assert on_staff.xpath(".//a[@href='/staff/']") and not on_staff.xpath(".//a[@href='/contracts/']")
    assert _page(client, "/").find(".//body").get("data-lookup-url") is None
