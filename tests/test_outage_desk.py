"""The outage-aware desk (issue 14, R23): operators and supervisors read published notices, read-only; the
customer view and the lookup flag a usage location inside an active outage, with the nearest open supply
points and the expected restoration; one click starts a contact about it."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from console.extensions import db
from console.models import OutageNoticeVersion, SupplyPoint, SupplyStatus
from console.services import DomainError, outage_desk, outage_notices, supply_points
from tests import factories
from tests.conftest import csrf_token

INSIDE_TOWN = "梅田一丁目"  # factories.contract()'s usage location: 北区 (27127)


def notice_input(**overrides) -> outage_notices.NoticeInput:
    return factories.notice_input(**{"title": "北区梅田の断水", "guidance": "給水容器をお持ちください。",
                                     "expected_restoration_at": "2026-11-25T18:30", "towns": {"27127": INSIDE_TOWN},
                                     **overrides})


def publish(coordinator, **overrides) -> OutageNoticeVersion:
    draft = outage_notices.create_draft(coordinator, notice_input(**overrides))
    version, _ = outage_notices.publish_draft(coordinator, draft.notice_id)
    return version


def point(coordinator, ward_code: str, lat: float, lon: float, status: str | None = "open") -> SupplyPoint:
    tag = uuid.uuid4().hex[:8].upper()
    created = supply_points.create_supply_point(coordinator, supply_points.SupplyPointInput(
        code=f"SP-T{tag}", name=f"試験拠点{tag}", kana="シケンキョテン", point_type="temporary_tank",
        ward_code=ward_code, address=f"試験所在地{tag}", latitude=str(lat), longitude=str(lon)))
    if status and status != "closed":
        supply_points.set_supply_status(coordinator, created, status)
    return created


@pytest.fixture()
def outage(database):
    """An actual outage in 北区梅田一丁目; open and closed supply points around it; customers in and out."""
    coordinator = factories.staff("disaster_coordinator", name="淀川 防災")
    version = publish(coordinator)
    near = point(coordinator, "27127", 34.7054, 135.5105)
    closed = point(coordinator, "27127", 34.7050, 135.5100, status="closed")
    elsewhere = point(coordinator, "27125", 34.6107, 135.4769)
    inside = factories.contract(holder_name="断水 内側", holder_kana="ダンスイ ウチガワ")
    outside = factories.contract(holder_name="断水 外側", holder_kana="ダンスイ ソトガワ", town="天神橋二丁目")
    account = factories.account(name="断水 内側", name_kana="ダンスイ ウチガワ")
    factories.link(account, inside, main=True)
    db.session.commit()
    return dict(coordinator=coordinator, version=version, near=near, closed=closed, elsewhere=elsewhere,
                inside=inside, outside=outside, account=account)


# ---------------------------------------------------------------- reading notices

def test_operator_and_supervisor_read_published_notices_and_every_version(client, login_as, outage):
    coordinator, version = outage["coordinator"], outage["version"]
    outage_notices.save_draft(coordinator, version.notice_id, notice_input(title="第2報の内容"))
    outage_notices.publish_draft(coordinator, version.notice_id)
    outage_notices.save_draft(coordinator, version.notice_id, notice_input(title="まだ下書きの第3報"))
    hidden = outage_notices.create_draft(coordinator, notice_input(title="未発表のお知らせ"))
    db.session.commit()

    for role in ("operator", "supervisor"):
        login_as(role)
        listing = client.get("/outages/")
        assert listing.status_code == 200
        html = listing.get_data(as_text=True)
        assert "第2報の内容" in html and "未発表のお知らせ" not in html and "まだ下書き" not in html
        assert f'href="/outages/{version.notice_id}"' in html

        detail = client.get(f"/outages/{version.notice_id}").get_data(as_text=True)
        assert 'data-testid="version-1"' in detail and 'data-testid="version-2"' in detail
        assert "北区梅田の断水" in detail and "第2報の内容" in detail
        assert "まだ下書き" not in detail and 'data-testid="version-3"' not in detail
        assert "淀川 防災" in detail  # who published, by name
        assert "2026年11月25日 18:30" in detail
        assert outage["near"].name in detail and outage["closed"].name not in detail
        # Read-only: no form posts anything from here.
        assert detail.count('method="post"') == 1 and 'action="/logout"' in detail  # sign-out only
        assert client.get(f"/outages/{hidden.notice_id}").status_code == 404
        client.post("/logout", data={"csrf_token": csrf_token(client)})


def test_the_desk_cannot_change_a_notice(client, login_as, outage):
    notice_id = outage["version"].notice_id
    operator = login_as("operator")
    for path in ("/disaster/notices/", f"/disaster/notices/{notice_id}", f"/disaster/notices/{notice_id}/draft",
                 "/disaster/notices/new", f"/disaster/notices/{notice_id}/preview"):
        assert client.get(path).status_code == 403, path
    token = csrf_token(client)
    for path in (f"/disaster/notices/{notice_id}/publish", f"/disaster/notices/{notice_id}/close",
                 f"/disaster/notices/{notice_id}/draft", f"/disaster/notices/{notice_id}/discard"):
        assert client.post(path, data={"csrf_token": token, "action": "cancel", "message": "x"}).status_code == 403
    # The services refuse too, whatever the page: editing stays the coordinators'.
    versions = db.session.scalar(select(func.count()).select_from(OutageNoticeVersion))
    for attempt in (lambda: outage_notices.save_draft(operator, notice_id, notice_input(title="改ざん")),
                    lambda: outage_notices.close_notice(operator, notice_id, cancel=True, message="取消"),
                    lambda: outage_notices.create_draft(operator, notice_input())):
        with pytest.raises(DomainError, match="災害対策担当が行います"):
            attempt()
    assert db.session.scalar(select(func.count()).select_from(OutageNoticeVersion)) == versions


def test_the_home_tile_links_the_desk_to_the_notices(client, login_as, outage):
    login_as("operator")
    home = client.get("/").get_data(as_text=True)
    match = re.search(r'発表中の断水等のお知らせ</div>\s*<div class="h3 mb-0"><a href="([^"]+)">', home)
    assert match and match.group(1) == "/outages/"
    assert outage["version"].title in client.get(match.group(1)).get_data(as_text=True)


# ---------------------------------------------------------------- the banner

def test_banner_on_a_customer_inside_the_area(client, login_as, outage):
    login_as("operator")
    account, version = outage["account"], outage["version"]
    html = client.get(f"/customer/account/{account.id}").get_data(as_text=True)
    assert html.count('data-testid="outage-banner"') == 1
    banner = html.split('data-testid="outage-banner"')[1].split("</section>")[0]
    # Before anything else on the page (R23).
    assert html.index('data-testid="outage-banner"') < html.index('data-testid="account-summary"')
    assert "北区梅田の断水（第1報）" in banner and f'href="/outages/{version.notice_id}"' in banner
    assert "復旧見込み：<strong>2026年11月25日 18:30</strong>" in banner
    assert outage["inside"].customer_number in banner
    assert outage["near"].name in banner and outage["closed"].name not in banner
    assert (f'href="/contacts/new?category=disaster&amp;outage={version.notice_id}&amp;account_id={account.id}"'
            in banner and "この断水について応対を記録" in banner)

    contract_page = client.get(f"/customer/contract/{outage['inside'].id}").get_data(as_text=True)
    assert (f"/contacts/new?category=disaster&amp;outage={version.notice_id}&amp;contract_id={outage['inside'].id}"
            in contract_page)


def test_no_banner_outside_the_area_nor_for_an_exercise_or_a_resolved_outage(client, login_as, outage):
    coordinator = outage["coordinator"]
    login_as("operator")
    assert 'data-testid="outage-banner"' not in client.get(
        f"/customer/contract/{outage['outside'].id}").get_data(as_text=True)

    drill = publish(coordinator, mode="exercise", title="【訓練】断水", towns={"27127": "天神橋二丁目"})
    db.session.commit()
    assert 'data-testid="outage-banner"' not in client.get(
        f"/customer/contract/{outage['outside'].id}").get_data(as_text=True)
    assert drill.notice_id

    outage_notices.close_notice(coordinator, outage["version"].notice_id, cancel=False, message="復旧しました。")
    db.session.commit()
    assert 'data-testid="outage-banner"' not in client.get(
        f"/customer/account/{outage['account'].id}").get_data(as_text=True)


def test_a_whole_ward_outage_covers_every_town_and_an_update_replaces_the_area(database, outage):
    coordinator, inside, outside = outage["coordinator"], outage["inside"], outage["outside"]
    assert [a.contracts for a in outage_desk.outage_alerts([inside, outside])] == [[inside]]
    outage_notices.save_draft(coordinator, outage["version"].notice_id,
                              notice_input(towns={}, expected_restoration_at="2026-11-26T09:00"))
    update, _ = outage_notices.publish_draft(coordinator, outage["version"].notice_id)
    (alert,) = outage_desk.outage_alerts([inside, outside])
    assert alert.contracts == [inside, outside] and alert.version.id == update.id
    assert alert.expected_restoration_at == datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
    # The update narrows the area to another town: the first contract is outside now.
    outage_notices.save_draft(coordinator, outage["version"].notice_id, notice_input(towns={"27127": outside.town}))
    outage_notices.publish_draft(coordinator, outage["version"].notice_id)
    (alert,) = outage_desk.outage_alerts([inside, outside])
    assert alert.contracts == [outside]
    # A stopped contract is not the caller's usage location any more.
    outside.stop_date = outside.start_date
    assert outage_desk.outage_alerts([inside, outside]) == []


def _loaded(ids):
    from console.models import Contract

    return list(db.session.scalars(select(Contract).where(Contract.id.in_(ids)).order_by(Contract.id)))


def test_the_check_costs_the_same_for_two_or_twenty_contracts(database, outage):
    def count(n: int) -> int:
        ids = [factories.contract().id for _ in range(n)]
        db.session.expire_all()
        contracts = _loaded(ids)  # as the customer view holds them
        with factories.statements_run() as statements:
            alerts = outage_desk.outage_alerts(contracts)
        assert sum(len(a.contracts) for a in alerts) == n
        return len(statements)

    assert count(2) == count(20)


def test_nearest_open_points_prefer_the_ward_then_the_nearest_other_wards():
    def row(code, ward, lat, lon, status=SupplyStatus.OPEN):
        return (SupplyPoint(code=code, ward_code=ward, latitude=lat, longitude=lon), status, None)

    rows = [
        row("FAR", "27125", 34.61, 135.47),            # 住之江区: far south
        row("NEXT", "27128", 34.68, 135.51),           # 中央区: next to 北区
        row("WARD-CLOSED", "27127", 34.70, 135.50, SupplyStatus.CLOSED),
        row("WARD-PREP", "27127", 34.71, 135.51, SupplyStatus.PREPARING),
    ]
    # 北区 has points but none open: the nearest open ones outside it, nearest first, with distances.
    found = outage_desk.nearest_open_points(["27127"], rows=rows)
    assert [n.point.code for n in found] == ["NEXT", "FAR"]
    assert not found[0].same_ward and 2 < found[0].distance_km < 4 < found[1].distance_km
    rows.append(row("WARD-OPEN", "27127", 34.705, 135.505))
    assert [n.point.code for n in outage_desk.nearest_open_points(["27127"], rows=rows, limit=2)] == [
        "WARD-OPEN", "NEXT"]
    # A ward without any registered point: only its own open points (none), never a guess.
    assert outage_desk.nearest_open_points(["27102"], rows=rows) == []


# ---------------------------------------------------------------- lookup

def test_lookup_flags_contracts_and_accounts_inside_an_active_outage(client, login_as, outage):
    login_as("operator")
    html = client.get("/lookup/?q=" + "ダンスイ").get_data(as_text=True)
    # One customer is one row: the account and the contract it holds share theirs.
    rows = re.findall(r'<tr data-testid="lookup-row">(.*?)</tr>', html, re.S)

    def row_of(needle: str) -> str:
        return next(r for r in rows if needle in r)

    inside_row = row_of(outage["inside"].customer_number)
    assert 'data-testid="outage-flag"' in inside_row and f'href="/outages/{outage["version"].notice_id}"' in inside_row
    assert f"#{outage['account'].id} " in inside_row
    assert 'data-testid="outage-flag"' not in row_of(outage["outside"].customer_number)
    assert html.count('data-testid="outage-flag"') == 2


def test_lookup_flags_cost_a_fixed_number_of_queries(database, outage):
    def count(n: int) -> int:
        contracts = [factories.contract() for _ in range(n)]
        accounts = [factories.account() for _ in range(n)]
        for a, c in zip(accounts, contracts, strict=True):
            factories.link(a, c, main=True)
        account_ids = [a.id for a in accounts]
        db.session.expire_all()
        contracts = _loaded([c.id for c in contracts])  # as the lookup holds them
        with factories.statements_run() as statements:
            flags = outage_desk.lookup_flags(contracts, account_ids)
        assert len(flags) == 2 * n
        return len(statements)

    assert count(2) == count(15)


def test_a_notice_published_long_ago_and_still_open_is_still_active(database, outage):
    version = outage["version"]
    version.published_at = version.published_at - timedelta(days=40)
    assert outage_desk.active_outages_at([("27127", INSIDE_TOWN)])[("27127", INSIDE_TOWN)] == [version]


def test_the_desk_list_puts_active_outages_first_and_pages_by_notice(database, outage):
    coordinator = outage["coordinator"]
    operator = factories.staff("operator")
    drill = publish(coordinator, mode="exercise", title="【訓練】断水")
    later = publish(coordinator, title="後から発表された断水", towns={"27127": "天神橋二丁目"})
    outage_notices.close_notice(coordinator, later.notice_id, cancel=False, message="復旧しました。")
    page = outage_desk.list_notices(operator)
    ids = [r.notice.id for r in page.rows]
    # Active (published, actual) first; the drill and the resolved one after, newest first.
    assert ids.index(outage["version"].notice_id) < ids.index(later.notice_id) < ids.index(drill.notice_id)
    assert {r.notice.id: r.active for r in page.rows if r.notice.id in (drill.notice_id, later.notice_id)} == {
        drill.notice_id: False, later.notice_id: False}
    older = outage_desk.list_notices(operator, before=later.notice_id)
    assert [r.notice.id for r in older.rows if r.notice.id >= later.notice_id] == []
    assert outage["version"].notice_id in [r.notice.id for r in older.rows]
