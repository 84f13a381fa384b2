"""Name changes with a second pair of eyes, handovers between management companies, number links (issue 4)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from console import clock
from console.extensions import db
from console.models import (
    AuditEvent,
    ChangeStatus,
    HolderHistory,
    HolderKind,
    NameChange,
    PaymentMethod,
    PaymentStatus,
)
from console.services import DomainError, handovers, holders, links
from tests import factories
from tests.conftest import csrf_token


def _request(actor, contract, name="鈴木 一郎", kana="スズキ イチロウ", kind="person", effective=date(2026, 12, 1)):
    return holders.request_name_change(
        actor, contract, new_holder_name=name, new_holder_kana=kana, new_holder_kind=kind,
        effective_date=effective, identity_check="電話で旧契約者に確認",
    )


@pytest.fixture()
def people(database):
    return factories.staff("operator"), factories.staff("supervisor"), factories.staff("supervisor")


def test_two_successive_changes_keep_the_whole_history(people):
    operator, supervisor, _ = people
    contract = factories.contract(start_date=date(2020, 4, 1))
    holders.approve_name_change(supervisor, _request(operator, contract, effective=date(2024, 4, 1)).id)
    holders.approve_name_change(
        supervisor, _request(operator, contract, name="株式会社 鈴木商事", kana="スズキショウジ", kind="company",
                             effective=date(2026, 1, 1)).id
    )
    history = db.session.scalars(
        select(HolderHistory).where(HolderHistory.contract_id == contract.id).order_by(HolderHistory.effective_from)
    ).all()
    assert [(h.holder_name, h.effective_from, h.effective_to) for h in history] == [
        ("山田 太郎", date(2020, 4, 1), date(2024, 3, 31)),
        ("鈴木 一郎", date(2024, 4, 1), date(2025, 12, 31)),
        ("株式会社 鈴木商事", date(2026, 1, 1), None),
    ]
    assert contract.holder_name == "株式会社 鈴木商事" and contract.holder_kind == "company"
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.customer_number == contract.customer_number).order_by(AuditEvent.id)
    ).all()
    assert actions == ["name_change.request", "name_change.approve"] * 2


def test_nobody_approves_their_own_request(people):
    _, supervisor, _ = people
    change = _request(supervisor, factories.contract())
    with pytest.raises(DomainError, match="自分が受け付けた"):
        holders.approve_name_change(supervisor, change.id)
    with pytest.raises(DomainError, match="自分が受け付けた"):
        holders.return_name_change(supervisor, change.id, "理由")
    assert change.status == ChangeStatus.PENDING


def test_operators_cannot_decide(people):
    operator, supervisor, _ = people
    change = _request(supervisor, factories.contract())
    with pytest.raises(DomainError, match="スーパーバイザー"):
        holders.approve_name_change(operator, change.id)


def test_decided_once(people):
    operator, supervisor, other = people
    change = _request(operator, factories.contract())
    holders.approve_name_change(supervisor, change.id)
    with pytest.raises(DomainError, match="すでに処理されています"):
        holders.return_name_change(other, change.id, "遅れて差戻し")


def test_return_needs_a_reason_and_changes_nothing(people):
    operator, supervisor, _ = people
    contract = factories.contract()
    change = _request(operator, contract)
    with pytest.raises(DomainError):
        holders.return_name_change(supervisor, change.id, " ")
    holders.return_name_change(supervisor, change.id, "書類不足")
    assert change.status == ChangeStatus.RETURNED and contract.holder_name == "山田 太郎"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"name": ""}, "新しい契約者名"),
        ({"kana": ""}, "カナ"),
        ({"kind": "robot"}, "区分"),
        ({"effective": date(2019, 1, 1)}, "より後"),
        ({"name": "山田 太郎"}, "同じ"),
    ],
)
def test_bad_requests_are_refused_with_japanese_messages(people, kwargs, message):
    operator, _, _ = people
    contract = factories.contract()
    with pytest.raises(DomainError, match=message):
        _request(operator, contract, **kwargs)
    assert db.session.scalar(select(NameChange).where(NameChange.contract_id == contract.id)) is None


def test_correcting_the_spelling_to_an_old_form_is_a_change(people):
    """高橋 and 髙橋 share one lookup key (issue 15), but writing the register's form is a real change."""
    operator, _, _ = people
    contract = factories.contract(holder_name="高橋 一郎", holder_kana="タカハシ イチロウ")
    with pytest.raises(DomainError, match="同じ"):
        _request(operator, contract, name="高橋　一郎", kana="たかはし いちろう")
    change = _request(operator, contract, name="髙橋 一郎", kana="タカハシ イチロウ")
    assert change.new_holder_name == "髙橋 一郎"


def test_one_pending_change_per_contract(people):
    operator, _, _ = people
    contract = factories.contract()
    _request(operator, contract)
    with pytest.raises(DomainError, match="承認待ち"):
        _request(operator, contract, name="別の 人")


def test_carry_over_lists_unpaid_bills(people):
    from tests.test_customer_view import _bill

    contract = factories.contract(payment_method=PaymentMethod.PAYMENT_NOTICE)
    _bill(contract, date(2026, 9, 1), payment_status=PaymentStatus.UNPAID)
    _bill(contract, date(2026, 10, 1), payment_status=PaymentStatus.UNPAID)
    _bill(contract, date(2026, 8, 1))
    carry = holders.carry_over(contract)
    assert (carry.unpaid_count, carry.unpaid_total, carry.payment_method) == (2, 7000, "payment_notice")


def test_self_approval_refused_through_the_page(client, login_as):
    supervisor = login_as("supervisor")
    contract = factories.contract()
    change = _request(supervisor, contract)
    db.session.commit()
    page = f"/name-changes/{change.id}"
    html = client.get(page).get_data(as_text=True)
    assert "承認する" not in html and "受付した職員以外" in html
    # A hand-made POST (a second tab, a script) is refused by the service too.
    response = client.post(f"{page}/decide", data={"decision": "approve", "csrf_token": csrf_token(client, page)},
                           follow_redirects=True)
    assert "自分が受け付けた名義変更" in response.get_data(as_text=True)
    db.session.refresh(change)
    assert change.status == ChangeStatus.PENDING


def test_request_and_approve_through_the_pages(client, app, login_as):
    contract = factories.contract()
    db.session.commit()
    login_as("operator")
    new_page = f"/name-changes/new/{contract.id}"
    html = client.get(new_page).get_data(as_text=True)
    assert "新しい契約者に引き継がれるもの" in html
    response = client.post(new_page, data={
        "new_holder_name": "佐藤 次郎", "new_holder_kana": "さとう じろう", "new_holder_kind": "person",
        "effective_date": "2026-12-01", "identity_check": "戸籍謄本の写し", "csrf_token": csrf_token(client, new_page),
    })
    assert response.status_code == 302
    change = db.session.scalars(select(NameChange).where(NameChange.contract_id == contract.id)).one()
    assert change.new_holder_kana == "サトウ ジロウ"
    other = app.test_client()
    supervisor = factories.staff("supervisor")
    db.session.commit()
    from tests.conftest import sign_in

    sign_in(other, supervisor.email, factories.PASSWORD)
    page = f"/name-changes/{change.id}"
    other.post(f"{page}/decide", data={"decision": "approve", "note": "書類確認済", "csrf_token": csrf_token(other, page)})
    db.session.refresh(contract)
    assert contract.holder_name == "佐藤 次郎"
    assert "承認待ち" not in client.get(f"/customer/contract/{contract.id}").get_data(as_text=True)


def test_concurrent_approve_and_return_give_one_outcome(app, database_url):
    """Two supervisors decide the same request at the same moment on two real connections."""
    engine = create_engine(database_url)
    with factories.committed(app):
        operator = factories.staff("operator")
        first, second = factories.staff("supervisor").id, factories.staff("supervisor").id
        contract = factories.contract(contract_phone=None)  # committed: must not answer other tests' lookups
        change = NameChange(contract_id=contract.id, new_holder_name="鈴木 一郎", new_holder_kana="スズキ イチロウ",
                            new_holder_kind=HolderKind.PERSON, effective_date=clock.today(), identity_check="電話",
                            requested_by_id=operator.id)  # committed: nothing in the future for the demo's check
        db.session.add(change)
        db.session.flush()
        contract_id, change_id = contract.id, change.id

    def approve(actor):
        holders.approve_name_change(actor, change_id)
        return "ok"

    def send_back(actor):
        holders.return_name_change(actor, change_id, "同時に差戻し")
        return "ok"

    outcomes = factories.race(app, {"approve": (first, approve), "return": (second, send_back)})
    assert sorted(outcomes.values()).count("ok") == 1, outcomes
    refused = [v for v in outcomes.values() if v != "ok"]
    assert refused == ["この名義変更はすでに処理されています。画面を更新して確認してください。"]
    with Session(engine) as check:
        status = check.execute(text("SELECT status FROM name_change WHERE id = :id"), {"id": change_id}).scalar_one()
        histories = check.execute(text("SELECT count(*) FROM contract_holder WHERE contract_id = :c AND name_change_id = :n"),
                                  {"c": contract_id, "n": change_id}).scalar_one()
    assert (status, histories) in {("approved", 1), ("returned", 0)}
    assert (status == "approved") == (outcomes["approve"] == "ok")
    engine.dispose()


# ------------------------------------------------------------------ handovers (R13, R5)

@pytest.fixture()
def building(database):
    """50 customer numbers held by the old management company's account."""
    old_account = factories.account(email="old-company@example.jp", name="旧管理株式会社")
    contracts = [factories.contract(holder_name="旧管理株式会社", holder_kana="キュウカンリ", holder_kind="company")
                 for _ in range(50)]
    for i, contract in enumerate(contracts):
        factories.link(old_account, contract, main=i == 0)
    return old_account, contracts


def test_handover_of_fifty_numbers_through_every_step(client, login_as, building, smtp_server):
    old_account, contracts = building
    new_account = factories.account(email="new-company@example.jp", name="新管理株式会社")
    operator = login_as("operator")
    supervisor = factories.staff("supervisor")
    handover = handovers.open_handover(
        operator, old_company_name="旧管理株式会社", new_company_name="新管理株式会社", new_company_kana="シンカンリ",
        customer_numbers="\n".join(c.customer_number.lower() for c in contracts), target_date=date(2026, 12, 1),
        identity_check="管理委託契約書の写し", old_account_id=old_account.id,
    )
    states = handovers.item_states(handover)
    assert len(states) == 50 and handovers.case_step(states) == handovers.STEP_NAME_CHANGE

    # Step 3 before step 2 is refused, by the service and by the database (R5).
    with pytest.raises(DomainError, match="新管理会社に登録できません"):
        handovers.link_new_account(operator, handover, new_account)
    with pytest.raises(DomainError, match="登録されたまま"):
        links.link_contract(operator, new_account, contracts[0], source=links.LinkSource.STAFF)

    for state in states:
        holders.approve_name_change(supervisor, state.name_change.id)
    assert handovers.case_step(handovers.item_states(handover)) == handovers.STEP_RELEASE
    db.session.commit()

    page = f"/handovers/{handover.id}"
    client.post(f"{page}/release", data={"reason": "管理会社の変更", "csrf_token": csrf_token(client, page)})
    assert handovers.case_step(handovers.item_states(handover)) == handovers.STEP_LINK
    (mail,) = smtp_server.messages
    assert mail["To"] == "old-company@example.jp"
    assert mail["Subject"] == "【大阪市水道局】マイページ お客さま番号の登録解除のお知らせ"
    assert all(c.customer_number in mail.get_content() for c in contracts)

    client.post(f"{page}/link", data={"account_id": str(new_account.id), "csrf_token": csrf_token(client, page)})
    db.session.refresh(handover)
    assert handover.status == "done"
    assert len(links.active_links(new_account)) == 50 and links.active_links(old_account) == []
    assert all(c.holder_name == "新管理株式会社" for c in contracts)
    audited = db.session.scalars(select(AuditEvent.customer_number).where(AuditEvent.action == "link.remove")).all()
    assert sorted(audited) == sorted(c.customer_number for c in contracts)


def test_open_handovers_list_filters(client, login_as, building):
    old_account, contracts = building
    operator = login_as("operator")
    handovers.open_handover(
        operator, old_company_name="旧管理株式会社", new_company_name="新管理株式会社", new_company_kana="シンカンリ",
        customer_numbers=contracts[0].customer_number, target_date=date(2026, 12, 1), identity_check="書類",
    )
    db.session.commit()
    assert "旧管理株式会社 → 新管理株式会社" in client.get("/handovers/?company=新管理").get_data(as_text=True)
    assert "旧管理株式会社 → 新管理株式会社" not in client.get("/handovers/?company=無関係").get_data(as_text=True)
    assert "旧管理株式会社 → 新管理株式会社" in client.get("/handovers/?step=1").get_data(as_text=True)
    assert "旧管理株式会社 → 新管理株式会社" not in client.get("/handovers/?step=2").get_data(as_text=True)


def test_handover_refuses_unknown_numbers(people):
    operator, _, _ = people
    with pytest.raises(DomainError, match="見つからないお客さま番号"):
        handovers.open_handover(
            operator, old_company_name="A", new_company_name="B", new_company_kana="ビー",
            customer_numbers="Z000000001", target_date=date(2026, 12, 1), identity_check="書類",
        )


# ------------------------------------------------------------------ links (R4, R14)

def test_add_on_behalf_after_the_r2_check_and_warn_above_twenty(people):
    operator, _, _ = people
    account = factories.account()
    for i in range(20):
        factories.link(account, factories.contract(), main=i == 0)
    contract = factories.contract(customer_number="C123456789", settlement_number="26E1234567",
                                  contract_phone="06-5555-6666")
    with pytest.raises(DomainError, match="登録できません"):
        links.add_on_behalf(operator, account, customer_number="C123456789", settlement_number="26E1234567",
                            phone="06-0000-0000", reason="電話依頼")
    link, warning = links.add_on_behalf(operator, account, customer_number="ｃ１２３４５６７８９",
                                        settlement_number="26e1234567", phone="0655556666", reason="電話依頼")
    assert link.contract_id == contract.id and link.source == "staff" and not link.is_main
    assert "21件" in warning


def test_unlink_moves_the_main_flag(people):
    operator, _, _ = people
    account = factories.account()
    first, second = factories.contract(), factories.contract()
    main = factories.link(account, first, main=True)
    factories.link(account, second)
    links.unlink(operator, main, "お客さまの依頼")
    assert [lk.contract_id for lk in links.active_links(account)] == [second.id]
    assert links.active_links(account)[0].is_main


def test_set_main(people):
    operator, _, _ = people
    account = factories.account()
    first, second = factories.contract(), factories.contract()
    factories.link(account, first, main=True)
    factories.link(account, second)
    links.set_main(operator, account, second)
    assert [(lk.contract_id, lk.is_main) for lk in links.active_links(account)] == [(second.id, True), (first.id, False)]


def test_customer_view_says_how_a_number_was_linked(client, login_as):
    account = factories.account()
    old = factories.contract(stop_date=date(2026, 3, 31))
    new = factories.contract(previous_contract_id=old.id)
    factories.link(account, new, main=True, source="portal_restart")
    phone_restart = factories.contract(previous_contract_id=old.id)
    factories.link(account, phone_restart, source="staff")
    db.session.commit()
    login_as("operator")
    html = client.get(f"/customer/account/{account.id}").get_data(as_text=True)
    assert "マイページでの中止・開始により自動で登録" in html
    assert "お客さまセンターが代理で登録" in html
