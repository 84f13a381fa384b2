"""What an operator meets in a day (issue 15): handover step ③ with the holder's name, a building's name
changes approved at once, unlock and reset after a recorded identity check, the same masking on every page,
decisions above the tables, and no 404 for the favicon."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from console import clock
from console.extensions import db
from console.models import AuditEvent, ChangeStatus, HandoverStatus
from console.services import DomainError, accounts, customer, handovers, holders, links
from tests import factories
from tests.conftest import csrf_token


def test_favicon_is_served_to_anyone(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/vnd.microsoft.icon"
    assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO header, not an HTML error page


# ------------------------------------------------------------------ handover step ③

def _handover_at_step_three(operator, count=3):
    """A case whose numbers were renamed and released: only step ③ (link to the new company) is left."""
    old_account = factories.account(name="旧管理株式会社")
    contracts = [factories.contract(holder_name="旧管理株式会社", holder_kana="キュウカンリ", holder_kind="company")
                 for _ in range(count)]
    for i, contract in enumerate(contracts):
        factories.link(old_account, contract, main=i == 0)
    handover = handovers.open_handover(
        operator, old_company_name="旧管理株式会社", new_company_name="株式会社新管理", new_company_kana="シンカンリ",
        customer_numbers=" ".join(c.customer_number for c in contracts), target_date=date(2026, 12, 1),
        identity_check="管理委託契約書の写し", old_account_id=old_account.id,
    )
    supervisor = factories.staff("supervisor")
    for state in handovers.item_states(handover):
        holders.approve_name_change(supervisor, state.name_change.id)
    handovers.release_old_links(operator, handover, "管理会社の変更")
    assert handovers.case_step(handovers.item_states(handover)) == handovers.STEP_LINK
    return handover, contracts


def test_step_three_shows_the_holder_and_needs_confirmation_when_it_differs(client, login_as):
    operator = login_as("operator")
    handover, contracts = _handover_at_step_three(operator)
    stranger = factories.account(name="山田 花子", name_kana="ヤマダ ハナコ", email="yamada@example.jp")
    db.session.commit()
    page = f"/handovers/{handover.id}"

    html = client.get(f"{page}?account_id={stranger.id}").get_data(as_text=True)
    assert "山田 花子" in html and "名義が異なることを確認しました" in html
    assert "yamada@example.jp" not in html and "y＊＊＊@example.jp" in html
    checked = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "handover.check_account")).one()
    assert checked.target_id == str(stranger.id) and checked.staff_id == operator.id

    # Sent without ticking the box (a hand-made POST; the browser's `required` is not the fence).
    refused = client.post(f"{page}/link", data={"account_id": str(stranger.id), "csrf_token": csrf_token(client, page)},
                          follow_redirects=True)
    text = refused.get_data(as_text=True)
    assert "名義「山田 花子」は、新管理会社「株式会社新管理」と異なります" in text
    assert "山田 花子" in text and "名義が異なることを確認しました" in text  # the confirmation is shown again
    assert links.active_links(stranger) == []
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "handover.link_new")).all() == []

    done = client.post(f"{page}/link", data={"account_id": str(stranger.id), "confirm_name": "1",
                                              "csrf_token": csrf_token(client, page)}, follow_redirects=True)
    assert "3件のお客さま番号を新管理会社の利用者" in done.get_data(as_text=True)
    assert len(links.active_links(stranger)) == 3
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "handover.link_new")).one()
    assert event.detail["name_matches"] is False and event.detail["name_confirmed"] is True


def test_step_three_with_the_companys_own_account_needs_no_extra_tick(client, login_as):
    operator = login_as("operator")
    handover, _contracts = _handover_at_step_three(operator, count=2)
    company = factories.account(name="新管理（株）", email="shin@example.jp")
    db.session.commit()
    page = f"/handovers/{handover.id}"
    html = client.get(f"{page}?account_id={company.id}").get_data(as_text=True)
    assert "新管理（株）" in html and "と同じ名義です" in html and 'name="confirm_name"' not in html
    client.post(f"{page}/link", data={"account_id": str(company.id), "csrf_token": csrf_token(client, page)})
    db.session.refresh(handover)
    assert handover.status == HandoverStatus.DONE and len(links.active_links(company)) == 2


def test_step_three_before_the_numbers_are_released_offers_nothing_to_press(client, login_as):
    operator = login_as("operator")
    contract = factories.contract()
    handover = handovers.open_handover(
        operator, old_company_name="旧管理", new_company_name="新管理", new_company_kana="シンカンリ",
        customer_numbers=contract.customer_number, target_date=date(2026, 12, 1), identity_check="書類")
    company = factories.account(name="新管理")
    db.session.commit()
    html = client.get(f"/handovers/{handover.id}?account_id={company.id}").get_data(as_text=True)
    assert "まだ登録できるお客さま番号はありません" in html and "③ この利用者に登録する" not in html
    page = f"/handovers/{handover.id}"
    refused = client.post(f"{page}/link", data={"account_id": str(company.id), "csrf_token": csrf_token(client, page)},
                          follow_redirects=True)
    assert "名義変更の承認待ちか旧管理会社に登録されたままのため" in refused.get_data(as_text=True)
    assert links.active_links(company) == []


def test_step_three_refuses_an_unknown_or_withdrawn_account(client, login_as):
    operator = login_as("operator")
    handover, _contracts = _handover_at_step_three(operator, count=1)
    gone = factories.account(name="株式会社新管理", withdrawn_at=clock.now())
    db.session.commit()
    page = f"/handovers/{handover.id}"
    assert "マイページ利用者番号 99999999は見つかりません" in client.get(f"{page}?account_id=99999999").get_data(as_text=True)
    assert "退会済み・取消済みのため登録できません" in client.get(f"{page}?account_id={gone.id}").get_data(as_text=True)
    with pytest.raises(DomainError, match="退会済み"):
        handovers.link_new_account(operator, handover, gone, name_confirmed=True)


@pytest.mark.parametrize("status", [HandoverStatus.DONE, HandoverStatus.CANCELLED])
def test_a_finished_case_shows_no_actions_and_takes_none(client, login_as, status):
    operator = login_as("operator")
    handover, _contracts = _handover_at_step_three(operator, count=1)
    company = factories.account(name="株式会社新管理")
    if status == HandoverStatus.DONE:
        handovers.link_new_account(operator, handover, company)
    else:
        handover.status = status
    db.session.commit()
    assert handover.status == status
    page = f"/handovers/{handover.id}"
    html = client.get(f"{page}?account_id={company.id}").get_data(as_text=True)
    assert f"「{status.label}」です" in html and "これ以上の操作はありません" in html
    assert f"{page}/release" not in html and f"{page}/link" not in html and "利用者を確認" not in html
    assert "<button" not in html.split('data-testid="finished"')[1].split("</table>")[0]

    token = csrf_token(client, page)
    other = factories.account(name="株式会社新管理")
    db.session.commit()
    refused = client.post(f"{page}/link", data={"account_id": str(other.id), "confirm_name": "1", "csrf_token": token},
                          follow_redirects=True)
    assert "これ以上の操作はできません" in refused.get_data(as_text=True)
    assert links.active_links(other) == []
    with pytest.raises(DomainError, match="これ以上の操作はできません"):
        handovers.release_old_links(operator, handover, "理由")


# ------------------------------------------------------------------ a building's name changes as one decision

def _building_changes(operator, count=3, building="梅田ハイツ"):
    contracts = [factories.contract(ward_code="27127", town="梅田一丁目", address_line="2-3", building=building,
                                    room=f"{101 + i}") for i in range(count)]
    return [holders.request_name_change(
        operator, contract, new_holder_name=f"新しい 名義{i}", new_holder_kana="アタラシイ メイギ", new_holder_kind="person",
        effective_date=date(2026, 12, 1), identity_check="電話で確認") for i, contract in enumerate(contracts)]


def test_a_supervisor_approves_a_buildings_changes_at_once(client, login_as):
    operator = factories.staff("operator", name="受付 太郎")
    changes = _building_changes(operator)
    lone = _building_changes(operator, count=1, building="別の建物")[0]
    supervisor = login_as("supervisor")
    html = client.get("/name-changes/").get_data(as_text=True)
    assert "北区梅田一丁目 梅田ハイツ（3件）" in html and "この建物の3件をまとめて承認する" in html
    assert "受付 太郎" in html
    form = html.split('data-testid="approve-group"')[1].split("</form>")[0]
    ids = sorted(int(v) for v in re.findall(r'name="change_id" value="(\d+)"', form))
    assert ids == sorted(c.id for c in changes)

    response = client.post("/name-changes/approve-group", data={
        "change_id": [str(i) for i in ids], "note": "管理規約で確認", "csrf_token": csrf_token(client, "/name-changes/")},
        follow_redirects=True)
    assert "3件の名義変更をまとめて承認しました" in response.get_data(as_text=True)
    # The request committed in a session of its own (IsolatedClient): read what the database now holds, not
    # a contract this test's session may still hold from before (one month-end run read the old holder).
    db.session.expire_all()
    for change in changes:
        assert change.status == ChangeStatus.APPROVED and change.decided_by_id == supervisor.id
        assert change.contract.holder_name == change.new_holder_name
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "name_change.approve")).all()
    assert sorted(int(e.target_id) for e in events) == ids  # one entry per request
    assert {e.customer_number for e in events} == {c.contract.customer_number for c in changes}
    db.session.refresh(lone)
    assert lone.status == ChangeStatus.PENDING


def test_one_that_cannot_be_approved_leaves_the_whole_building_pending(client, login_as):
    operator = factories.staff("operator")
    supervisor = login_as("supervisor")
    changes = _building_changes(operator, count=2)
    changes += _building_changes(supervisor, count=1)  # the same building; this one the supervisor took himself
    db.session.commit()
    html = client.get("/name-changes/").get_data(as_text=True)
    assert "ご自身の受付のため、まとめて承認できません" in html and 'data-testid="approve-group"' not in html

    response = client.post("/name-changes/approve-group", data={
        "change_id": [str(c.id) for c in changes], "csrf_token": csrf_token(client, "/name-changes/")},
        follow_redirects=True)
    text = response.get_data(as_text=True)
    blocked = changes[2]
    assert (f"名義変更 #{blocked.id}（お客さま番号 {blocked.contract.customer_number}）を承認できないため、"
            "3件とも承認していません：自分が受け付けた名義変更は") in text
    for change in changes:
        db.session.refresh(change)
        assert change.status == ChangeStatus.PENDING
        assert change.contract.holder_name != change.new_holder_name
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "name_change.approve")).all() == []


def test_bulk_approval_refuses_other_buildings_operators_and_decided_requests(database):
    operator, supervisor = factories.staff("operator"), factories.staff("supervisor")
    first, second = _building_changes(operator, count=1)[0], _building_changes(operator, count=1, building="別棟")[0]
    with pytest.raises(DomainError, match="同じ建物"):
        holders.approve_name_changes(supervisor, [first.id, second.id])
    with pytest.raises(DomainError, match="スーパーバイザーが行います"):
        holders.approve_name_changes(operator, [first.id])
    with pytest.raises(DomainError, match="見つかりません"):
        holders.approve_name_changes(supervisor, [99999999])
    pair = _building_changes(operator, count=2, building="三棟")
    holders.return_name_change(supervisor, pair[0].id, "書類不足")
    with pytest.raises(DomainError, match=rf"#{pair[0].id}.*すでに処理されています"):
        holders.approve_name_changes(supervisor, [pair[1].id, pair[0].id])
    db.session.refresh(pair[1])
    assert pair[1].status == ChangeStatus.PENDING


def test_a_handovers_changes_are_one_group(client, login_as):
    operator = factories.staff("operator")
    contracts = [factories.contract() for _ in range(2)]
    handover = handovers.open_handover(
        operator, old_company_name="旧管理", new_company_name="新管理", new_company_kana="シンカンリ",
        customer_numbers=" ".join(c.customer_number for c in contracts), target_date=date(2026, 12, 1),
        identity_check="書類")
    login_as("supervisor")
    html = client.get("/name-changes/").get_data(as_text=True)
    assert f"管理会社の変更 #{handover.id}：旧管理 → 新管理（2件）" in html
    client.post("/name-changes/approve-group", data={
        "change_id": [str(s.name_change.id) for s in handovers.item_states(handover)],
        "csrf_token": csrf_token(client, "/name-changes/")})
    assert handovers.case_step(handovers.item_states(handover)) == handovers.STEP_LINK


def test_name_change_decision_sits_above_the_details(client, login_as):
    operator = factories.staff("operator")
    change = _building_changes(operator, count=1)[0]
    login_as("supervisor")
    html = client.get(f"/name-changes/{change.id}").get_data(as_text=True)
    assert 'class="card decision-panel"' in html
    assert html.index('data-testid="decision"') < html.index('data-testid="carry-over"')


# ------------------------------------------------------------------ unlock and reset after a recorded identity check

@pytest.fixture()
def locked(database):
    account = factories.account(email="locked.user@example.jp", locked_at=clock.now(), failed_login_count=6)
    factories.link(account, factories.contract(), main=True)
    db.session.commit()
    return account


def test_unlock_and_reset_wait_for_a_recorded_identity_check(client, login_as, locked, smtp_server):
    login_as("operator")
    page = f"/customer/account/{locked.id}"
    html = client.get(page).get_data(as_text=True)
    assert "先に下の「本人確認」で本人確認を記録してください" in html
    token = csrf_token(client, page)
    for action, doing in (("unlock", "ロックを解除する前に"), ("password-reset", "パスワード再設定メールを送る前に")):
        refused = client.post(f"{page}/{action}", data={"reason": "本人から電話", "csrf_token": token},
                              follow_redirects=True).get_data(as_text=True)
        assert f"{doing}、本人確認を行い記録してください（記録から30分間有効です）" in refused
    db.session.refresh(locked)
    assert locked.locked_at is not None and smtp_server.messages == []
    assert db.session.scalars(select(AuditEvent).where(
        AuditEvent.action.in_(["account.unlock", "account.password_reset_mail"]))).all() == []

    client.post(f"{page}/identity", data={"method": "contract_details", "note": "生年月日も一致", "csrf_token": token})
    html = client.get(page).get_data(as_text=True)
    assert "本人確認済み（あと 30 分有効）" in html
    client.post(f"{page}/unlock", data={"reason": "本人から電話", "csrf_token": token})
    client.post(f"{page}/password-reset", data={"reason": "本人から電話", "csrf_token": token})
    db.session.refresh(locked)
    assert locked.locked_at is None and [m["To"] for m in smtp_server.messages] == ["locked.user@example.jp"]
    identity = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "customer.identity_confirmed")).one()
    for action in ("account.unlock", "account.password_reset_mail"):
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).one()
        assert event.detail["identity_event_id"] == identity.id


def _identity_recorded(operator, account, minutes_ago):
    """An identity confirmation this operator recorded some minutes ago (the audit table takes inserts only)."""
    event = AuditEvent(at=clock.now() - timedelta(minutes=minutes_ago), staff_id=operator.id,
                       staff_email=operator.email, action="customer.identity_confirmed", target_type="portal_account",
                       target_id=str(account.id), reason="お客さま番号・契約者名・使用場所の一致",
                       detail={"method": "contract_details"})
    db.session.add(event)
    db.session.commit()
    return event


def test_the_page_counts_down_the_thirty_minutes(client, login_as, locked):
    operator = login_as("operator")
    _identity_recorded(operator, locked, minutes_ago=7)
    html = client.get(f"/customer/account/{locked.id}").get_data(as_text=True)
    assert "本人確認済み（あと 23 分有効）" in html


def test_an_expired_identity_check_is_refused_with_what_to_do(client, login_as, locked):
    operator = login_as("operator")
    event = _identity_recorded(operator, locked, minutes_ago=31)
    page = f"/customer/account/{locked.id}"
    html = client.get(page).get_data(as_text=True)
    assert "30分を過ぎたため無効です" in html and "あと" not in html.split('data-testid="identity-status"')[1][:80]
    refused = client.post(f"{page}/unlock", data={"reason": "本人から電話", "csrf_token": csrf_token(client, page)},
                          follow_redirects=True).get_data(as_text=True)
    at = event.at.astimezone(clock.TOKYO)
    assert (f"本人確認（{at:%H:%M}）から30分を過ぎたため、確認は無効になりました。"
            "ロックを解除する前に、もう一度本人確認を行い記録してください。") in refused
    db.session.refresh(locked)
    assert locked.locked_at is not None
    # Another operator's check does not count for this one.
    other = factories.staff("operator")
    _identity_recorded(other, locked, minutes_ago=1)
    with pytest.raises(DomainError, match="本人確認"):
        accounts.unlock_account(operator, locked, "本人から電話")


def test_a_check_from_an_earlier_shift_is_not_named(client, login_as, locked):
    """A confirmation older than a shift is neither valid nor worth naming: the page asks for a new one."""
    operator = login_as("operator")
    _identity_recorded(operator, locked, minutes_ago=13 * 60)
    html = client.get(f"/customer/account/{locked.id}").get_data(as_text=True)
    status = html.split('data-testid="identity-status"')[1][:200]
    assert "本人確認を行い記録してください" in status and "30分を過ぎ" not in status
    with pytest.raises(DomainError, match="本人確認を行い記録してください（記録から30分間有効です）"):
        accounts.unlock_account(operator, locked, "本人から電話")


# ------------------------------------------------------------------ the same masking on every page; decisions in reach

def test_the_applicants_phone_and_e_mail_are_masked_and_revealed_with_a_reason(client, login_as):
    application = factories.start_application(phone="090-1234-5678", email="applicant.taro@example.jp")
    db.session.commit()
    operator = login_as("operator")
    page = f"/applications/{application.id}"
    html = client.get(page).get_data(as_text=True)
    assert "090-1234-5678" not in html and "09012345678" not in html and "applicant.taro@example.jp" not in html
    assert customer.mask_phone("090-1234-5678") in html and customer.mask_email("applicant.taro@example.jp") in html

    token = csrf_token(client, page)
    refused = client.post(f"{page}/reveal", data={"field": "applicant_phone", "reason": "", "csrf_token": token},
                          follow_redirects=True).get_data(as_text=True)
    assert "表示する理由を入力してください" in refused and "090-1234-5678" not in refused
    shown = client.post(f"{page}/reveal", data={"field": "applicant_phone", "reason": "折り返し電話のため",
                                                 "csrf_token": token}).get_data(as_text=True)
    assert "090-1234-5678" in shown and "applicant.taro@example.jp" not in shown
    shown = client.post(f"{page}/reveal", data={"field": "applicant_email", "reason": "メール不達の確認",
                                                 "csrf_token": token}).get_data(as_text=True)
    assert "applicant.taro@example.jp" in shown
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "customer.reveal")
                                .order_by(AuditEvent.id)).all()
    assert [(e.target_type, e.target_id, e.detail["field"], e.reason, e.staff_id) for e in events] == [
        ("start_application", str(application.id), "applicant_phone", "折り返し電話のため", operator.id),
        ("start_application", str(application.id), "applicant_email", "メール不達の確認", operator.id)]
    # A contract's field cannot be asked for through an application.
    with pytest.raises(DomainError, match="契約が特定されていません"):
        customer.reveal(operator, field_name="contract_phone", reason="理由", application=application)


def test_an_applications_decision_comes_before_the_tables_about_the_place(client, login_as):
    application = factories.start_application(town="天神橋二丁目", address_line="3-5", building="天神橋ハイツ")
    for room in range(25):
        factories.contract(town="天神橋二丁目", address_line="3-5", building="天神橋ハイツ", room=str(200 + room))
    db.session.commit()
    login_as("operator")
    html = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert html.count("天神橋ハイツ") >= 25
    assert html.index('id="accept-form"') < html.index('data-testid="place-contracts"')
    assert html.index('name="reason_code"') < html.index('data-testid="place-contracts"')
