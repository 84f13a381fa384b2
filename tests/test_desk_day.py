"""What an operator meets in a day (issue 15): handover step ③ with the holder's name, a building's name
changes approved at once, unlock and reset after a recorded identity check, the same masking on every page,
decisions above the tables, and no 404 for the favicon."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from console import clock
from console.extensions import db
from console.models import AuditEvent, HandoverStatus
from console.services import DomainError, handovers, holders, links
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
