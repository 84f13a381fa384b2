"""契約一覧・請求一覧: keyset pages over the big tables, filters, refusals, audit."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select, text

from console import clock
from console.extensions import db
from console.models import AuditEvent
from tests import factories


def _numbers(html: str) -> list[str]:
    return re.findall(r'class="text-monospace" href="/customer/contract/\d+">([A-Z]\d{9})<', html)


def _walk(client, url: str) -> tuple[list[str], list[str]]:
    """Follow the "older" links from the first page to the last: the numbers seen, and each page's URL."""
    seen, pages = [], []
    while url:
        html = client.get(url).get_data(as_text=True)
        pages.append(url)
        seen += _numbers(html)
        older = re.search(r'href="(/contracts/\?after=[^"]+)"', html)
        url = older.group(1).replace("&amp;", "&") if older else None
    return seen, pages


def test_contract_pages_walk_back_and_forth_without_gaps(client, login_as):
    created = [factories.contract(ward_code="27124", town="鶴見一丁目").customer_number for _ in range(120)]
    db.session.commit()
    login_as("operator")
    seen, pages = _walk(client, "/contracts/?ward=27124")
    assert seen == list(reversed(created))  # newest first, every contract once
    assert len(pages) == 3 and "ward=27124" in pages[-1]
    # And back: the newer page from the last page is the middle page again.
    last = client.get(pages[-1]).get_data(as_text=True)
    newer = re.search(r'href="(/contracts/\?before=[^"]+)"', last).group(1).replace("&amp;", "&")
    assert _numbers(client.get(newer).get_data(as_text=True)) == list(reversed(created))[50:100]
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contract.list")).all()
    assert len(events) == 5 and events[0].detail["filters"] == {"ward_code": "27124"}  # one per page shown


def test_a_town_beginning_pages_through_every_town_it_stands_for(client, login_as):
    """天満橋 stands for each of its 丁目 as stored (and a town that merely begins alike): one newest-first
    walk over all of them, back and forth, while 天満橋二丁目 alone is just that town."""
    towns = ["天満橋一丁目", "天満橋2丁目", "天満橋京町", "天満橋三丁目"]
    created = [factories.contract(ward_code="27127", town=towns[n % 4]) for n in range(130)]
    factories.contract(ward_code="27127", town="天満一丁目")  # begins with 天満, not with 天満橋
    db.session.commit()
    login_as("operator")
    seen, pages = _walk(client, "/contracts/?town=天満橋")
    assert seen == [c.customer_number for c in reversed(created)] and len(pages) == 3
    last = client.get(pages[-1]).get_data(as_text=True)
    newer = re.search(r'href="(/contracts/\?before=[^"]+)"', last).group(1).replace("&amp;", "&")
    assert _numbers(client.get(newer).get_data(as_text=True)) == [c.customer_number for c in reversed(created)][50:100]
    assert _numbers(client.get("/contracts/?town=天満橋2丁目").get_data(as_text=True)) == [
        c.customer_number for c in reversed(created) if c.town == "天満橋2丁目"]
    html = client.get("/contracts/?town=天満橋&state=stopped").get_data(as_text=True)
    assert _numbers(html) == [] and "該当する契約はありません" in html


def test_a_town_is_found_however_its_chome_and_ward_are_typed(client, login_as):
    """What an operator types: 天神橋5丁目 / 天神橋５ / 大阪市北区 天神橋 5丁目 find a contract stored as
    天神橋五丁目 (and one stored as 天神橋5丁目); a ward typed with the town narrows by it."""
    kanji = factories.contract(ward_code="27127", town="天神橋五丁目").customer_number
    digits = factories.contract(ward_code="27127", town="天神橋5丁目").customer_number
    elsewhere = factories.contract(ward_code="27128", town="天神橋五丁目").customer_number  # not in 北区
    db.session.commit()
    login_as("operator")
    for typed in ("天神橋5丁目", "天神橋５", "天神橋五丁目", " 天神橋 5丁目 "):
        assert set(_numbers(client.get("/contracts/", query_string={"town": typed}).get_data(as_text=True))) >= {
            kanji, digits, elsewhere}, typed
    html = client.get("/contracts/", query_string={"town": "大阪市北区 天神橋 5丁目"}).get_data(as_text=True)
    assert {kanji, digits} <= set(_numbers(html)) and elsewhere not in _numbers(html)
    assert 'value="27127" selected' in html and 'value="天神橋5丁目"' in html  # the form shows what it used
    html = client.get("/contracts/", query_string={"town": "北区"}).get_data(as_text=True)
    assert 'value="27127" selected' in html and {kanji, digits} <= set(_numbers(html)) and elsewhere not in _numbers(html)
    html = client.get("/contracts/", query_string={"ward": "27128", "town": "北区天神橋"}).get_data(as_text=True)
    assert "区の指定（中央区）と町名の区（北区）が違います。" in html and _numbers(html) == []
    assert 'value="27128" selected' in html and 'value="北区天神橋"' in html  # both kept, to choose from


def test_a_town_beginning_that_stands_for_too_many_towns_is_refused(client, login_as):
    from console.services.listing import MAX_TOWNS

    for n in range(MAX_TOWNS + 1):
        factories.contract(ward_code="27127", town=f"多町名{n:02d}")
    db.session.commit()
    login_as("operator")
    html = client.get("/contracts/?town=多町名").get_data(as_text=True)
    assert "町名をもう少し詳しく入力するか、区で絞り込んでください" in html and _numbers(html) == []
    assert 'value="多町名"' in html  # what was typed stays in the form, to be made longer
    assert len(_numbers(client.get("/contracts/?town=多町名0").get_data(as_text=True))) == 10


def test_contract_filters_and_refusals(client, login_as):
    today = clock.today()
    active = factories.contract(ward_code="27125", town="南港北一丁目", payment_method="e_payment")
    stopped = factories.contract(ward_code="27125", town="南港北一丁目", stop_date=date(2024, 3, 31))
    db.session.commit()
    login_as("operator")
    html = client.get("/contracts/?ward=27125&state=active").get_data(as_text=True)
    assert active.customer_number in html and stopped.customer_number not in html
    html = client.get("/contracts/?ward=27125&state=stopped").get_data(as_text=True)
    assert stopped.customer_number in html and active.customer_number not in html
    html = client.get("/contracts/?ward=27125&payment_method=e_payment&town=南港").get_data(as_text=True)
    assert _numbers(html) == [active.customer_number]
    for bad, message in (("ward=1", "区の指定が正しくありません"), ("state=x", "契約状態の指定"),
                         ("after=abc", "ページの指定"), ("after=99999999999999999999", "ページの指定"),
                         ("before=１２", "ページの指定"), ("payment_method=cash", "支払方法の指定")):
        response = client.get(f"/contracts/?{bad}")
        assert response.status_code == 200 and message in response.get_data(as_text=True), bad
    assert today  # the state filter is relative to today


def test_bill_list_filters_by_month_status_and_customer(client, login_as):
    contract = factories.contract()
    other = factories.contract()
    for month in (10, 11):
        factories.bill(contract, date(2023, month, 1))
        factories.bill(other, date(2023, month, 1), payment_status="paid")
    db.session.commit()
    login_as("operator")
    html = client.get(f"/bills/?customer_number={contract.customer_number.lower()}").get_data(as_text=True)
    assert _numbers(html) == [contract.customer_number] * 2 and "令和5年11月" in html and "令和5年10月" in html
    html = client.get("/bills/?period=2023-11&payment_status=paid").get_data(as_text=True)
    assert other.customer_number in _numbers(html) and contract.customer_number not in _numbers(html)
    for bad, message in (("period=2023-13", "請求月は YYYY-MM"), ("customer_number=123", "お客さま番号は"),
                         ("payment_status=maybe", "支払状況の指定")):
        assert message in client.get(f"/bills/?{bad}").get_data(as_text=True), bad
    wide = client.get("/bills/", query_string={"period": "２０２３－１１", "payment_status": "paid"}).get_data(as_text=True)
    assert other.customer_number in _numbers(wide)  # a month typed in full-width figures is the same month
    for typed in ("令和5年11月", "R5.11", "２０２３年１１月分"):  # and in the era calendar, as staff write it
        era = client.get("/bills/", query_string={"period": typed, "payment_status": "paid"}).get_data(as_text=True)
        assert other.customer_number in _numbers(era) and contract.customer_number not in _numbers(era), typed
    kept = client.get("/bills/?period=2023-11&customer_number=123").get_data(as_text=True)
    assert 'value="2023-11"' in kept and 'value="123"' in kept  # the refused number stays to be corrected
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "bill.list").order_by(AuditEvent.id))
    assert event.customer_number == contract.customer_number


def test_coordinator_cannot_list_contracts_or_bills(client, login_as):
    login_as("disaster_coordinator")
    assert client.get("/contracts/").status_code == 403
    assert client.get("/bills/").status_code == 403


@pytest.mark.postgresql
def test_every_statement_is_planned_for_its_own_values(database):
    """A prepared statement's generic plan cannot use the values (a town's beginning scanned the whole index):
    the console's PostgreSQL connections plan each statement for its own (web.py)."""
    assert db.session.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"


@pytest.mark.parametrize("typed", ["じゅうそう", "ジュウソウ", "ｼﾞｭｳｿｳ", "じゅうそうひがし"])
def test_a_town_typed_in_kana_finds_the_towns_read_so(client, login_as, typed):
    """十三 reads じゅうそう, which its kanji do not tell: the reading (Japan Post's) stands for the towns read
    so, each with its 丁目 as stored; a ward chosen narrows them."""
    login_as("operator")
    east = factories.contract(ward_code="27123", town="十三東一丁目").customer_number
    main = factories.contract(ward_code="27123", town="十三本町2丁目").customer_number
    other = factories.contract(ward_code="27123", town="三国本町一丁目").customer_number
    found = set(_numbers(client.get("/contracts/", query_string={"town": typed}).get_data(as_text=True)))
    assert found == ({east} if typed == "じゅうそうひがし" else {east, main})
    assert other not in found
    elsewhere = client.get("/contracts/", query_string={"town": typed, "ward": "27127"}).get_data(as_text=True)
    assert _numbers(elsewhere) == []  # 北区 has no town read じゅうそう


def test_one_kana_is_no_reading(client, login_as):
    login_as("operator")
    factories.contract(ward_code="27123", town="十三東一丁目")
    html = client.get("/contracts/", query_string={"town": "じ"}).get_data(as_text=True)
    assert _numbers(html) == []
    assert "町名の読みは2文字以上で入力してください" in html and 'value="じ"' in html  # said, and kept to correct
