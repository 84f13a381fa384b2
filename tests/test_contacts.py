"""Contacts (応対履歴) and follow-ups (対応待ち), issue 14: recording through the real forms, corrections,
the screen pop, business-day due dates, take next exactly once under concurrency, reassigning, closing,
the memo retention job and the audit rows (DESIGN.md R21, R22)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from console import clock
from console.extensions import db
from console.models import AuditEvent, Contact, ContactCategory, FollowUp, FollowUpStatus, OutageNotice
from console.services import DomainError, calendar, contacts, follow_ups
from tests import factories
from tests.conftest import csrf_token


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _contacts() -> int:
    return db.session.scalar(select(func.count()).select_from(Contact))


def _form(client, url: str, **values) -> dict:
    data = {"csrf_token": csrf_token(client, url), "channel": "phone", "direction": "inbound",
            "caller_relation": "holder", "category": "login"}
    data.update(values)
    return data


def _new_contact(actor, contract=None, **values) -> Contact:
    data = contacts.ContactInput(**{"category": "login", **values})
    return contacts.record_contact(actor, data, contract=contract)


# ---------------------------------------------------------------- recording


def test_an_operator_records_a_contact_from_the_customer_view(client, login_as):
    operator = login_as("operator")
    contract = factories.contract()
    db.session.commit()
    page = client.get(f"/customer/contract/{contract.id}").get_data(as_text=True)
    link = re.search(r'<a [^>]*href="([^"]+)"[^>]*accesskey="r"[^>]*>応対を記録', page)
    assert link, "the customer view offers 応対を記録 with an access key"
    url = link.group(1).replace("&amp;", "&")
    form = client.get(url).get_data(as_text=True)
    assert re.search(r'<select[^>]*id="category"[^>]*autofocus', form)
    assert "<script>" not in form and "contacts.js" in form
    # Every category's FAQ is on the page; only the chosen one is shown (none yet).
    assert "Q17" in form and 'data-faq-for="login" hidden' in form

    response = client.post(url, data=_form(client, url, category="login", memo="パスワードを忘れたとのこと",
                                           outcome="Q17の手順を案内", caller_phone="０９０－１２３４－５６７８"))
    assert response.status_code == 302
    contact = db.session.scalar(select(Contact).order_by(Contact.id.desc()))
    assert (contact.contract_id, contact.staff_id, contact.category.code) == (contract.id, operator.id, "login")
    assert contact.caller_phone == "09012345678" and contact.memo == "パスワードを忘れたとのこと"
    assert abs(contact.at - clock.now()) < timedelta(minutes=1)
    assert response.headers["Location"].endswith(f"/contacts/{contact.id}")
    (recorded,) = _audit("contact.record")
    assert recorded.customer_number == contract.customer_number and recorded.target_id == str(contact.id)

    detail = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "パスワードを忘れたとのこと" in detail and operator.name in detail
    assert [e.target_id for e in _audit("contact.view")] == [str(contact.id)]
    # The customer view lists it, by the staff member's name, and that reading is audited too.
    page = client.get(f"/customer/contract/{contract.id}").get_data(as_text=True)
    assert "Q17の手順を案内" in page and operator.name in page
    assert _audit("contact.list")[-1].customer_number == contract.customer_number


def test_a_chosen_category_shows_its_faq_answers_on_the_server_rendered_form(client, login_as):
    login_as("operator")
    contract = factories.contract()
    db.session.commit()
    form = client.get(f"/contacts/new?contract_id={contract.id}&category=disaster").get_data(as_text=True)
    shown = form.split('<div data-faq-for="disaster">')[1].split("data-faq-for=")[0]
    assert "Q45" in shown and "応急給水拠点" in shown and 'value="disaster" selected' in form
    assert '<div data-faq-for="login" hidden>' in form


@pytest.mark.parametrize("values, message", [
    ({"category": ""}, "分類を選んでください"),
    ({"channel": "fax"}, "応対の方法"),
    ({"caller_phone": "12345"}, "電話番号は0から始まる10桁または11桁"),
    ({"memo": "あ" * 4001}, "メモは4000文字以内"),
    ({"follow_up_what": "折り返し", "follow_up_days": "0"}, "対応期限は1〜60営業日後"),
    ({"follow_up_what": "折り返し", "follow_up_assignee": "999999"}, "対応待ちの担当者"),
    ({"outage_notice_id": "424242"}, "断水等のお知らせが見つかりません"),
])
def test_a_refused_contact_says_why_and_writes_nothing(client, login_as, values, message):
    login_as("operator")
    contract = factories.contract()
    db.session.commit()
    before = _contacts(), db.session.scalar(select(func.count()).select_from(FollowUp))
    url = f"/contacts/new?contract_id={contract.id}"
    page = client.post(url, data=_form(client, url, **values)).get_data(as_text=True)
    assert message in page
    assert (_contacts(), db.session.scalar(select(func.count()).select_from(FollowUp))) == before
    assert _audit("contact.record") == []


def test_the_outage_desk_links_to_a_prefilled_form_and_the_notice_is_stored(client, login_as):
    operator = login_as("operator")
    contract = factories.contract()
    notice = OutageNotice(created_by_id=operator.id)
    db.session.add(notice)
    db.session.commit()
    url = f"/contacts/new?contract_id={contract.id}&category=disaster&outage={notice.id}"
    form = client.get(url).get_data(as_text=True)
    assert f'name="outage_notice_id" value="{notice.id}"' in form and f"断水等のお知らせ #{notice.id}" in form
    client.post(url, data=_form(client, url, category="disaster", outage_notice_id=str(notice.id), outcome="給水拠点を案内"))
    contact = db.session.scalar(select(Contact).order_by(Contact.id.desc()))
    assert (contact.category.code, contact.outage_notice_id) == ("disaster", notice.id)


# ---------------------------------------------------------------- never changed, only added to (R21)


def test_a_correction_is_a_new_contact_and_the_old_one_shows_as_corrected(client, login_as):
    operator = login_as("operator")
    contract = factories.contract()
    old = _new_contact(operator, contract, memo="誤った内容", outcome="案内")
    db.session.commit()
    url = f"/contacts/{old.id}/correct"
    form = client.get(url).get_data(as_text=True)
    assert "誤った内容" in form  # the form starts from the old entry
    response = client.post(url, data=_form(client, url, category="payment", memo="正しい内容", outcome="案内"))
    new = db.session.scalar(select(Contact).where(Contact.corrects_id == old.id))
    assert response.headers["Location"].endswith(f"/contacts/{new.id}")
    assert (new.contract_id, new.category.code, new.memo) == (contract.id, "payment", "正しい内容")
    db.session.refresh(old)
    assert (old.memo, old.category.code) == ("誤った内容", "login")  # untouched
    page = client.get(f"/contacts/{old.id}").get_data(as_text=True)
    assert 'data-testid="corrected"' in page and f"応対番号 {new.id}" in page
    assert _audit("contact.correct")[0].target_id == str(new.id)
    listed = contacts.for_customer(operator, contract=contract)
    assert [(r.contact.id, r.corrected) for r in listed.rows] == [(new.id, False), (old.id, True)]
    # A corrected entry is not corrected twice: the latest one is.
    again = client.post(url, data=_form(client, url, outcome="再訂正")).get_data(as_text=True)
    assert "すでに訂正されています" in again


def _refused(statement, **params) -> bool:
    try:
        with db.session.begin_nested():
            db.session.execute(text(statement), params)
    except DBAPIError as exc:
        return "append-only" in str(exc.orig)
    return False


def test_the_database_refuses_to_change_or_delete_a_contact(database):
    operator = factories.staff("operator")
    contract = factories.contract()
    contact = _new_contact(operator, contract, memo="メモ", outcome="結果")
    unidentified = _new_contact(operator, None, memo="未特定")
    db.session.commit()
    assert _refused("UPDATE contact SET outcome = 'x' WHERE id = :id", id=contact.id)
    assert _refused("UPDATE contact SET memo = 'rewritten' WHERE id = :id", id=contact.id)
    assert _refused("UPDATE contact SET contract_id = NULL WHERE id = :id", id=contact.id)
    assert _refused("UPDATE contact SET staff_id = staff_id + 0, category_id = category_id + 1 WHERE id = :id", id=contact.id)
    assert _refused("DELETE FROM contact WHERE id = :id", id=contact.id)
    # What the database lets through: the retention job's removal of a memo, and linking once.
    assert not _refused("UPDATE contact SET memo = NULL, memo_removed_at = CURRENT_TIMESTAMP WHERE id = :id", id=contact.id)
    other = factories.contract()
    assert not _refused("UPDATE contact SET contract_id = :c WHERE id = :id", c=contract.id, id=unidentified.id)
    assert _refused("UPDATE contact SET contract_id = :c WHERE id = :id", c=other.id, id=unidentified.id)


@pytest.mark.postgresql
def test_truncating_the_contacts_is_refused(database):
    assert _refused("TRUNCATE contact CASCADE")


# ---------------------------------------------------------------- screen pop


def test_a_screen_pop_on_a_known_number_opens_the_customer_with_a_contact_started(client, login_as):
    login_as("operator")
    contract = factories.contract(contract_phone="06-6111-2233")
    db.session.commit()
    response = client.get("/lookup/?phone=06-6111-2233")
    assert response.status_code == 302 and f"/customer/contract/{contract.id}" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="caller">着信 0661112233' in page
    url = re.search(r'href="([^"]+)"[^>]*accesskey="r"', page).group(1).replace("&amp;", "&")
    form = client.get(url).get_data(as_text=True)
    assert 'name="caller_phone" value="0661112233"' in form
    client.post(url, data=_form(client, url, caller_phone="0661112233", outcome="案内"))
    contact = db.session.scalar(select(Contact).order_by(Contact.id.desc()))
    assert (contact.contract_id, contact.caller_phone) == (contract.id, "0661112233")


def test_an_unknown_number_is_recorded_on_nobody_and_linked_later(client, login_as):
    login_as("operator")
    contract = factories.contract()
    db.session.commit()
    page = client.get("/lookup/?phone=0798765432").get_data(as_text=True)
    url = re.search(r'href="([^"]+)"[^>]*data-testid="record-unidentified"', page).group(1).replace("&amp;", "&")
    assert 'name="caller_phone" value="0798765432"' in client.get(url).get_data(as_text=True)
    client.post(url, data=_form(client, url, caller_phone="0798765432", memo="名乗らず", category="leak"))
    contact = db.session.scalar(select(Contact).order_by(Contact.id.desc()))
    assert (contact.contract_id, contact.account_id, contact.caller_phone) == (None, None, "0798765432")
    listed = client.get("/contacts/").get_data(as_text=True)
    assert f'data-contact-id="{contact.id}"' in listed

    link = f"/contacts/{contact.id}/link"
    bad = client.post(link, data={"csrf_token": csrf_token(client, f"/contacts/{contact.id}"), "customer_number": "Z9"},
                      follow_redirects=True).get_data(as_text=True)
    assert "お客さま番号が見つかりません" in bad
    client.post(link, data={"csrf_token": csrf_token(client, f"/contacts/{contact.id}"),
                            "customer_number": contract.customer_number.lower()})
    db.session.refresh(contact)
    assert contact.contract_id == contract.id
    assert _audit("contact.link")[0].customer_number == contract.customer_number
    again = client.post(link, data={"csrf_token": csrf_token(client, f"/contacts/{contact.id}"),
                                    "customer_number": factories.contract().customer_number}, follow_redirects=True)
    assert "すでにお客さまに紐付いています" in again.get_data(as_text=True)


# ---------------------------------------------------------------- follow-ups (R22)


def test_follow_up_due_dates_count_business_days():
    # Friday 2026-12-25: the weekend and the year-end break (12/29–1/3) do not count.
    assert contacts.follow_up_due(1, date(2026, 12, 25)) == date(2026, 12, 28)
    assert contacts.follow_up_due(3, date(2026, 12, 25)) == date(2027, 1, 5)
    # Friday 2027-01-08: Monday the 11th is 成人の日.
    assert contacts.follow_up_due(1, date(2027, 1, 8)) == date(2027, 1, 12)


def test_a_contact_promises_a_follow_up_due_in_business_days(client, login_as):
    operator = login_as("operator")
    contract = factories.contract()
    db.session.commit()
    url = f"/contacts/new?contract_id={contract.id}"
    client.post(url, data=_form(client, url, outcome="調査します", follow_up_what="使用水量を調べて折り返し",
                                follow_up_days="5", follow_up_assignee="me"))
    follow_up = db.session.scalar(select(FollowUp).order_by(FollowUp.id.desc()))
    today = clock.today()
    assert follow_up.due_date == calendar.add_business_days(today, 5)
    assert calendar.is_business_day(follow_up.due_date) and follow_up.due_date >= today + timedelta(days=5)
    assert (follow_up.assignee_id, follow_up.status, follow_up.what) == (operator.id, FollowUpStatus.OPEN,
                                                                         "使用水量を調べて折り返し")
    assert _audit("follow_up.open")[0].customer_number == contract.customer_number
    home = client.get("/").get_data(as_text=True)
    assert "自分の対応待ち" in home and "使用水量を調べて折り返し" in home


def _follow_up(actor, contract, *, due: date, assignee=None, what="折り返し") -> FollowUp:
    contact = _new_contact(actor, contract, follow_up_what=what,
                           follow_up_assignee=str(assignee.id) if assignee else "desk")
    follow_up = db.session.scalar(select(FollowUp).where(FollowUp.contact_id == contact.id))
    follow_up.due_date = due
    db.session.flush()
    return follow_up


def test_home_shows_mine_and_the_desks_with_overdue_first(client, login_as):
    operator = login_as("operator")
    contract = factories.contract()
    today = clock.today()
    _follow_up(operator, contract, due=today + timedelta(days=3), what="後の約束")
    _follow_up(operator, contract, due=today - timedelta(days=2), what="遅れた約束")
    _follow_up(operator, contract, due=today + timedelta(days=1), assignee=operator, what="自分の約束")
    db.session.commit()
    home = client.get("/").get_data(as_text=True)
    desk = home.split('data-testid="desk-follow-ups"')[1]
    assert desk.index("遅れた約束") < desk.index("後の約束") and 'data-overdue="1"' in desk
    mine = home.split('data-testid="my-follow-ups"')[1].split("</table>")[0]
    assert "自分の約束" in mine and "遅れた約束" not in mine
    assert "期限超過 1" in home
    assert _audit("follow_up.list"), "showing follow-ups is a view of customer data"


def test_home_counts_what_its_short_lists_leave_out(database):
    operator = factories.staff("operator")
    before = follow_ups.open_lists(operator, limit=10_000).counts
    contract = factories.contract()
    for days in (-3, -1, 2):
        _follow_up(operator, contract, due=clock.today() + timedelta(days=days))
    short = follow_ups.open_lists(operator, limit=2)
    assert len(short.desk) == 2 and short.counts["desk"] == before["desk"] + 3
    assert short.counts["desk_overdue"] == before["desk_overdue"] + 2 and short.counts["mine"] == 0


def test_take_next_gives_the_oldest_unassigned_one(client, login_as):
    operator = login_as("operator")
    contract = factories.contract()
    first = _follow_up(operator, contract, due=clock.today(), what="最初")
    _follow_up(operator, contract, due=clock.today(), what="次")
    db.session.commit()
    response = client.post("/follow-ups/take-next", data={"csrf_token": csrf_token(client)})
    assert response.headers["Location"].endswith(f"/follow-ups/{first.id}")
    db.session.refresh(first)
    assert (first.assignee_id, first.taken_at is not None) == (operator.id, True)
    assert _audit("follow_up.take")[0].target_id == str(first.id)


def test_take_next_hands_each_follow_up_to_exactly_one_operator_at_once(app, database_url):
    """Real concurrent connections (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: BEGIN IMMEDIATE)."""
    takers = 6
    with factories.committed(app):
        staff = [factories.staff("operator") for _ in range(takers)]
        # Committed for good (contacts and follow-ups are never deleted): promised on calls taken on nobody,
        # so no contract of other tests' lists, lookups or seeds meets them.
        contract = None
        promised = [_follow_up(staff[0], contract, due=clock.today(), what=f"同時{n}").id for n in range(takers - 2)]
        ids = [s.id for s in staff]

    def take(actor):
        return follow_ups.take_next(actor).id

    outcomes = factories.race(app, {f"operator {n}": (ids[n], take) for n in range(takers)})
    taken = [v for v in outcomes.values() if isinstance(v, int)]
    refused = [v for v in outcomes.values() if not isinstance(v, int)]
    assert sorted(taken) == sorted(promised), outcomes  # each one once, none twice
    assert len(refused) == 2 and all("窓口の対応待ちはありません" in v for v in refused), outcomes
    engine = create_engine(database_url)
    with Session(engine) as check:
        holders = dict(check.execute(select(FollowUp.id, FollowUp.assignee_id).where(FollowUp.id.in_(promised))).all())
    engine.dispose()
    # Each follow-up went to the operator whose call returned it, and nobody holds two.
    assert {holders[i] for i in taken} <= set(ids) and len(set(holders.values())) == len(promised)
    by_taker = {outcomes[f"operator {n}"]: ids[n] for n in range(takers) if isinstance(outcomes[f"operator {n}"], int)}
    assert holders == by_taker


def test_a_supervisor_reassigns_and_an_operator_may_not(client, login_as):
    supervisor = factories.staff("supervisor")
    other = factories.staff("operator")
    operator = login_as("operator")
    contract = factories.contract()
    follow_up = _follow_up(operator, contract, due=clock.today(), assignee=operator)
    db.session.commit()
    page = client.post(f"/follow-ups/{follow_up.id}/reassign",
                       data={"csrf_token": csrf_token(client), "assignee": str(other.id)}, follow_redirects=True)
    assert "スーパーバイザーが行います" in page.get_data(as_text=True)
    db.session.refresh(follow_up)
    assert follow_up.assignee_id == operator.id
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    from tests.conftest import sign_in

    sign_in(client, supervisor.email, factories.PASSWORD)
    assert other.name in client.get("/follow-ups/").get_data(as_text=True)
    client.post(f"/follow-ups/{follow_up.id}/reassign", data={"csrf_token": csrf_token(client), "assignee": str(other.id)})
    db.session.refresh(follow_up)
    assert follow_up.assignee_id == other.id
    (event,) = _audit("follow_up.reassign")
    assert event.detail == {"from": operator.name, "to": other.name}
    client.post(f"/follow-ups/{follow_up.id}/reassign", data={"csrf_token": csrf_token(client), "assignee": "desk"})
    db.session.refresh(follow_up)
    assert follow_up.assignee_id is None


def test_closing_a_follow_up_records_its_outcome_as_a_new_contact(client, login_as):
    operator = login_as("operator")
    contract = factories.contract()
    follow_up = _follow_up(operator, contract, due=clock.today(), assignee=operator, what="検針値を確認して折り返し")
    db.session.commit()
    url = f"/follow-ups/{follow_up.id}"
    form = client.get(url).get_data(as_text=True)
    assert "検針値を確認して折り返し" in form and 'value="outbound" selected' in form
    assert _audit("follow_up.view")[0].customer_number == contract.customer_number
    empty = client.post(url, data=_form(client, url, category="", direction="outbound")).get_data(as_text=True)
    assert "対応の結果を入力してください" in empty
    response = client.post(url, data=_form(client, url, category="", direction="outbound", outcome="折り返して説明済み"))
    db.session.refresh(follow_up)
    closing = follow_up.closing_contact
    assert follow_up.status == FollowUpStatus.CLOSED and follow_up.closed_by_id == operator.id
    assert response.headers["Location"].endswith(f"/contacts/{closing.id}")
    assert (closing.contract_id, closing.outcome, closing.category_id) == (
        contract.id, "折り返して説明済み", follow_up.contact.category_id)
    assert _audit("follow_up.close")[0].detail == {"contact": closing.id}
    with pytest.raises(DomainError, match="すでに完了"):
        follow_ups.close_follow_up(operator, follow_up.id, contacts.ContactInput(outcome="二度目"))


def test_a_follow_up_held_by_someone_else_is_not_closed_by_an_operator(database):
    holder, other = factories.staff("operator"), factories.staff("operator")
    follow_up = _follow_up(holder, factories.contract(), due=clock.today(), assignee=holder)
    before = _contacts()
    with pytest.raises(DomainError, match=f"{holder.name}さんの担当"):
        follow_ups.close_follow_up(other, follow_up.id, contacts.ContactInput(outcome="代わりに"))
    assert _contacts() == before
    supervisor = factories.staff("supervisor")
    follow_ups.close_follow_up(supervisor, follow_up.id, contacts.ContactInput(outcome="SVが完了"))
    assert follow_up.status == FollowUpStatus.CLOSED


# ---------------------------------------------------------------- reading, paged, with names


def test_for_customer_pages_newest_first_with_staff_names(database):
    operator = factories.staff("operator", name="応対")
    contract = factories.contract()
    account = factories.account()
    factories.link(account, contract, main=True)
    made = [_new_contact(operator, contract, outcome=f"#{n}") for n in range(25)]
    on_account = contacts.record_contact(operator, contacts.ContactInput(category="login"), account=account)
    first = contacts.for_customer(operator, contract=contract)
    assert [r.contact.id for r in first.rows] == [c.id for c in reversed(made)][:20]
    assert {r.staff_name for r in first.rows} == {operator.name} and first.next_before
    second = contacts.for_customer(operator, contract=contract, before=first.next_before)
    assert [r.contact.id for r in second.rows] == [c.id for c in reversed(made)][20:] and second.next_before is None
    whole = contacts.for_customer(operator, account=account, limit=100)
    assert whole.rows[0].contact.id == on_account.id and len(whole.rows) == 26
    assert len(_audit("contact.list")) == 3


# ---------------------------------------------------------------- retention (R21)


def test_the_retention_job_removes_old_memos_and_keeps_the_contacts(app, database, monkeypatch):
    from console.jobs.contacts import remove_expired_contact_memos

    operator = factories.staff("operator")
    contract = factories.contract()
    old = _new_contact(operator, contract, memo="6年前のメモ")
    two = _new_contact(operator, contract, memo="2年前のメモ")
    fresh = _new_contact(operator, contract, memo="今日のメモ")
    for contact, years in ((old, 6), (two, 2)):
        db.session.execute(text("INSERT INTO contact (at, staff_id, contract_id, channel, direction, category_id, "
                                "caller_relation, memo) SELECT :at, staff_id, contract_id, channel, direction, "
                                "category_id, caller_relation, memo FROM contact WHERE id = :id"),
                           {"at": (clock.now() - timedelta(days=365 * years + 2)).astimezone(clock.UTC).replace(
                               tzinfo=None if db.session.get_bind().dialect.name == "sqlite" else clock.UTC),
                            "id": contact.id})
    aged = {m: i for i, m in db.session.execute(select(Contact.id, Contact.memo).where(Contact.id > fresh.id))}
    db.session.commit()
    total = _contacts()

    assert remove_expired_contact_memos() == 1
    rows = {c.id: c for c in db.session.scalars(select(Contact).where(Contact.id.in_(aged.values())))}
    assert rows[aged["6年前のメモ"]].memo is None and rows[aged["6年前のメモ"]].memo_removed_at is not None
    assert rows[aged["2年前のメモ"]].memo == "2年前のメモ" and db.session.get(Contact, fresh.id).memo == "今日のメモ"
    assert _contacts() == total  # the rows and their counts stay
    (event,) = _audit("contact.memo_removed")
    assert event.detail["removed"] == 1 and event.staff_id is None
    assert remove_expired_contact_memos() == 0  # a second run removes nothing more

    # CONSOLE_CONTACT_MEMO_RETENTION_YEARS takes effect: one year, and the flask command runs it too.
    monkeypatch.setitem(app.config, "CONTACT_MEMO_RETENTION_YEARS", 1)
    result = app.test_cli_runner().invoke(args=["contacts", "remove-expired-memos"])
    assert result.exit_code == 0 and "removed 1 contact memos" in result.output
    assert db.session.get(Contact, aged["2年前のメモ"]).memo is None


def test_each_worker_schedules_the_daily_memo_removal_once_per_day(app, rq_queue):
    from rq.registry import ScheduledJobRegistry

    from console.jobs.contacts import next_run, schedule_contact_memo_removal

    with app.app_context():
        first = schedule_contact_memo_removal()
        assert schedule_contact_memo_removal() == first
        assert first == f"contact-memos-{next_run().date().isoformat()}"
        assert ScheduledJobRegistry(queue=rq_queue).get_job_ids() == [first]
        assert next_run() > clock.now() and next_run().astimezone(clock.TOKYO).hour == 2


# ---------------------------------------------------------------- categories are data an admin extends


def test_an_admin_adds_and_retires_a_category_and_operators_see_it(client, login_as):
    login_as("admin")
    url = "/contact-categories/"
    bad = client.post(url, data={"csrf_token": csrf_token(client, url), "code": "water_quality", "name": "水質",
                                 "questions": "4, 99"}).get_data(as_text=True)
    assert "FAQにない質問番号です：99" in bad
    client.post(url, data={"csrf_token": csrf_token(client, url), "code": "water_quality", "name": "水質・にごり",
                           "questions": "Q4, 16-17"})
    category = db.session.scalar(select(ContactCategory).where(ContactCategory.code == "water_quality"))
    assert [q.number for q in category.questions] == [4, 16, 17]
    assert _audit("contact_category.create")[0].detail["questions"] == [4, 16, 17]
    disaster = db.session.scalar(select(ContactCategory).where(ContactCategory.code == "disaster"))
    assert disaster.name == "災害・断水" and 45 in [q.number for q in disaster.questions]

    operator = factories.staff("operator")
    db.session.commit()
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    from tests.conftest import sign_in

    sign_in(client, operator.email, factories.PASSWORD)
    assert client.get(url).status_code == 403
    assert "水質・にごり" in client.get("/contacts/new").get_data(as_text=True)
    contact = _new_contact(operator, None, category="water_quality")
    with pytest.raises(DomainError, match="管理者"):
        from console.services import contact_categories

        contact_categories.update_category(operator, category.id, name="x")
    admin = factories.staff("admin")
    from console.services import contact_categories

    contact_categories.update_category(admin, category.id, name="水質", questions="4", retired=True)
    assert "水質" not in client.get("/contacts/new").get_data(as_text=True).split('id="category"')[1].split("</select>")[0]
    with pytest.raises(DomainError, match="使われなくなりました"):
        _new_contact(operator, None, category="water_quality")
    assert db.session.get(Contact, contact.id).category.name == "水質"  # stays on the old contact
    db.session.execute(update(ContactCategory).where(ContactCategory.id == category.id).values(retired_at=None))


# ---------------------------------------------------------------- what supervisors learn from it


def _jst(*args):
    from datetime import UTC, datetime

    return datetime(*args, tzinfo=UTC) - timedelta(hours=9)


def _at(actor, contract, at, code, **values) -> Contact:
    category = db.session.scalar(select(ContactCategory).where(ContactCategory.code == code))
    contact = Contact(at=at, staff_id=actor.id, contract_id=contract.id if contract else None, channel="phone",
                      direction="inbound", category_id=category.id, caller_relation="holder", **values)
    db.session.add(contact)
    db.session.flush()
    return contact


def test_the_contacts_report_counts_categories_days_follow_ups_and_faq_questions(database, tmp_path, app):
    from tests.report_helpers import build, data_rows, temporary_reports_dir

    dirs = temporary_reports_dir(app, tmp_path)
    next(dirs)
    operator = factories.staff("operator", name="集計")
    contract = factories.contract()
    login = _at(operator, contract, _jst(2026, 10, 3, 10), "login", outcome="案内", memo="個人のメモ")
    wrong = _at(operator, contract, _jst(2026, 10, 3, 23, 30), "charges", outcome="誤り")
    _at(operator, contract, _jst(2026, 10, 4, 0, 30), "charges")  # Japan's 4 October, UTC's 3rd
    _at(operator, contract, _jst(2026, 10, 5, 9), "charges", corrects_id=wrong.id)
    _at(operator, None, _jst(2026, 10, 10, 9), "other")
    _at(operator, contract, _jst(2026, 11, 1, 0, 1), "login")  # after the period
    db.session.add(FollowUp(contact_id=login.id, what="折り返し", due_date=date(2026, 10, 6), created_by_id=operator.id,
                            created_at=_jst(2026, 10, 3, 10), status=FollowUpStatus.CLOSED,
                            closed_at=_jst(2026, 10, 8, 15), closed_by_id=operator.id))
    db.session.add(FollowUp(contact_id=login.id, what="未完了", due_date=date(2026, 10, 25), created_by_id=operator.id,
                            created_at=_jst(2026, 10, 20, 23, 30)))
    db.session.flush()
    run, wb = build("contacts", {"start": "2026-10-01", "end": "2026-10-31"}, factories.staff("supervisor"))
    rows = data_rows(wb["応対一覧"])
    assert run.row_count == len(rows) == 5
    assert rows[0][2:5] == (contract.customer_number, "ログイン・パスワード", "電話") and rows[0][8] == operator.name
    assert rows[3][9] == wrong.id and rows[4][2] == "（未特定）"
    assert "個人のメモ" not in str(rows)  # memos stay out of the report

    by_day = wb["分類別・日別"]
    header = [c.value for c in by_day[2]]
    days = {r[0].date(): dict(zip(header[1:], r[1:], strict=True)) for r in data_rows(by_day)}
    assert days[date(2026, 10, 3)]["ログイン・パスワード"] == 1
    assert days[date(2026, 10, 3)]["料金・水量のお問い合わせ"] == 0  # corrected: counted as its correction
    assert days[date(2026, 10, 4)]["料金・水量のお問い合わせ"] == 1
    assert days[date(2026, 10, 5)]["合計"] == 1 and days[date(2026, 10, 10)]["その他"] == 1
    follow = {r[0].date(): r[1:] for r in data_rows(wb["対応待ち"])}
    assert follow[date(2026, 10, 3)] == (1, 0, 0) and follow[date(2026, 10, 7)] == (0, 0, 1)
    assert follow[date(2026, 10, 8)] == (0, 1, 0) and follow[date(2026, 10, 9)] == (0, 0, 0)
    assert follow[date(2026, 10, 20)] == (1, 0, 0) and follow[date(2026, 10, 25)] == (0, 0, 0)
    assert follow[date(2026, 10, 26)] == follow[date(2026, 10, 31)] == (0, 0, 1)
    questions = data_rows(wb["FAQの質問別"])
    assert questions[0][2] == 2 and questions[0][0] in (19, 23, 24, 26)
    assert {q[0]: q[2] for q in questions}[17] == 1
    next(dirs, None)


def test_a_closed_day_is_counted_once_and_again_after_a_correction(database):
    """The figures count a day that has ended once and keep its counts (ContactDayCount); recording a
    correction of a contact of that day drops them, so the day is counted again, as its correction."""
    from datetime import datetime, time

    from console.models import ContactDayCount
    from console.reports.contact_figures import contacts_per_category_per_day

    operator, contract = factories.staff("operator"), factories.contract()
    today = clock.today()
    day = today - timedelta(days=3)
    charges, login = (db.session.scalar(select(ContactCategory.id).where(ContactCategory.code == code))
                      for code in ("charges", "login"))
    wrong = _at(operator, contract, datetime.combine(day, time(10), tzinfo=clock.TOKYO), "charges")
    assert contacts_per_category_per_day(day, today).counts[(day, charges)] == 1
    assert db.session.get(ContactDayCount, day).counts[str(charges)] == 1
    # Kept: a contact written straight into that day (not through the service) waits for the next count.
    _at(operator, contract, datetime.combine(day, time(11), tzinfo=clock.TOKYO), "charges")
    assert contacts_per_category_per_day(day, today).counts[(day, charges)] == 1

    contacts.correct_contact(operator, wrong.id, contacts.ContactInput(category="login", outcome="分類の誤り"))
    assert db.session.get(ContactDayCount, day) is None
    again = contacts_per_category_per_day(day, today)
    assert again.counts[(day, charges)] == 1  # the one written straight in; the corrected one no longer counts
    assert again.counts.get((day, login), 0) == 0 and again.counts[(today, login)] >= 1  # the correction: today


def test_a_day_is_kept_only_once_it_has_settled(database):
    """In a day's first minutes yesterday is still counted from the contacts (one recorded at 23:59:59 may
    commit after midnight); ten minutes in, its counts are kept."""
    from datetime import datetime, time

    import time_machine

    from console.models import ContactDayCount
    from console.reports.contact_figures import DAY_SETTLES, contacts_per_category_per_day

    today = clock.today()
    yesterday = today - timedelta(days=1)
    midnight = datetime.combine(today, time(0), tzinfo=clock.TOKYO)
    with time_machine.travel(midnight + DAY_SETTLES / 2, tick=False):
        contacts_per_category_per_day(yesterday, today)
        assert db.session.get(ContactDayCount, yesterday) is None
    with time_machine.travel(midnight + DAY_SETTLES * 2, tick=False):
        contacts_per_category_per_day(yesterday, today)
        assert db.session.get(ContactDayCount, yesterday) is not None


def test_the_supervisors_home_shows_the_desks_figures(client, login_as):
    from console.reports import dashboard

    before = dashboard.desk_figures()
    operator = factories.staff("operator")
    contract = factories.contract()
    for _ in range(2):
        _new_contact(operator, contract, category="leak", follow_up_what="修繕業者を案内して折り返し")
    db.session.commit()
    after = dashboard.desk_figures()
    assert after.series[0].counts[-1] - before.series[0].counts[-1] == 2
    assert after.series[1].counts[-1] - before.series[1].counts[-1] == 2
    assert dict(after.categories)["漏水"] - dict(before.categories)["漏水"] == 2
    login_as("supervisor")
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="desk-figures"' in page and "応対の記録" in page and "期限超過の対応待ち" in page
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login_as("operator")
    assert 'data-testid="desk-figures"' not in client.get("/").get_data(as_text=True)
