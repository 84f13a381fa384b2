"""Towns in outage notices (issue 15): checked against Japan Post's list, 丁目 in any form, per-town counts in
the preview, and each version's number and kind in its mail."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from console.extensions import db
from console.models import AuditEvent, OutageArea, OutageNotice, OutageNoticeVersion
from console.services import DomainError, outage_mail, outage_notices
from tests import factories
from tests.conftest import csrf_token


def notice_input(**overrides) -> outage_notices.NoticeInput:
    return factories.notice_input(**{"title": "天神橋で断水", **overrides})


def customer(town: str, ward: str = "27127"):
    account = factories.account()
    factories.link(account, factories.contract(ward_code=ward, town=town), main=True)
    return account


def _rows():
    return (db.session.scalar(select(func.count()).select_from(OutageNotice)),
            db.session.scalar(select(func.count()).select_from(OutageNoticeVersion)),
            db.session.scalar(select(func.count()).select_from(OutageArea)))


@pytest.mark.parametrize("typed", ["天神橋5丁目", "天神橋五丁目", "天神橋５丁目"])
def test_chome_in_any_form_reaches_the_same_customers(database, typed):
    staff = factories.staff("disaster_coordinator")
    # Stored as the demo data and the city write it, and as a customer typed it on a start application.
    kanji, digits = customer("天神橋五丁目"), customer("天神橋5丁目")
    customer("天神橋六丁目"), customer("天神橋五丁目", ward="27128")  # another 丁目, another ward

    version = outage_notices.create_draft(staff, notice_input(towns={"27127": typed}))
    assert [(a.ward_code, a.town) for a in version.areas] == [("27127", "天神橋五丁目")]
    recipients = {email for _id, email in db.session.execute(outage_mail.recipients_query(version))}
    assert recipients == {kanji.email, digits.email}
    assert outage_mail.area_counts(version) == [outage_mail.AreaCount("27127", "天神橋五丁目", 2, 2)]


def test_a_whole_town_reaches_each_of_its_chome_but_not_a_town_whose_name_begins_the_same(database):
    staff = factories.staff("disaster_coordinator")
    first, fourth = customer("天満一丁目"), customer("天満4丁目")
    customer("天満橋一丁目")
    version = outage_notices.create_draft(staff, notice_input(towns={"27127": "天満"}))
    recipients = {email for _id, email in db.session.execute(outage_mail.recipients_query(version))}
    assert recipients == {first.email, fourth.email}


@pytest.mark.parametrize(("typed", "expected"), [
    ("天神攜5丁目", r"北区に「天神攜5丁目」という町はありません。近い町名：天神橋"),
    ("梅出", r"北区に「梅出」という町はありません。近い町名：梅田"),
    ("十三東二丁目", r"淀川区の町です"),
    ("茶屋町2丁目", r"「茶屋町」には丁目がありません"),
    ("天神橋45丁目", r"丁目の番号が正しくありません"),
])
def test_an_unknown_or_misspelt_town_is_refused_with_candidates_and_nothing_is_saved(database, typed, expected):
    staff = factories.staff("disaster_coordinator")
    published, _ = outage_notices.publish_draft(
        staff, outage_notices.create_draft(staff, notice_input(towns={"27127": "梅田"})).notice_id)
    before, audits = _rows(), db.session.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(DomainError, match=expected):
        outage_notices.create_draft(staff, notice_input(towns={"27127": f"梅田、{typed}"}))
    with pytest.raises(DomainError, match=expected):
        outage_notices.save_draft(staff, published.notice_id, notice_input(towns={"27127": typed}))
    assert _rows() == before
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == audits


def test_the_form_refuses_a_misspelt_town_keeps_the_input_and_offers_the_town_list(client, login_as):
    login_as("disaster_coordinator")
    page = client.get("/disaster/notices/new").get_data(as_text=True)
    assert 'list="town-list-27127"' in page
    north = re.search(r'<datalist id="town-list-27127">(.*?)</datalist>', page).group(1)
    assert '<option value="天神橋">' in north and '<option value="茶屋町">' in north
    assert '<option value="十三東">' not in north  # 淀川区's
    assert "<script>" not in page and "notice-towns.js" in page

    before = _rows()
    form = {
        "csrf_token": csrf_token(client, "/disaster/notices/new"), "mode": "actual", "kind": "emergency",
        "phenomenon": "outage", "title": "北区で断水", "body": "断水しています。", "starts_at": "2026-11-25T06:00",
        "wards": ["27127"], "towns_27127": "天神橋5丁目、梅出",
    }
    response = client.post("/disaster/notices/new", data=form)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "北区に「梅出」という町はありません。近い町名：梅田" in html
    assert 'value="天神橋5丁目、梅出"' in html  # the coordinator corrects what was typed
    assert _rows() == before

    # Towns typed in an unticked ward's field count: the ward is meant.
    form.update(towns_27127="天神橋5丁目、梅田", towns_27128="谷町9", wards=["27127"])
    assert client.post("/disaster/notices/new", data=form).status_code == 302
    version = db.session.scalar(select(OutageNoticeVersion).order_by(OutageNoticeVersion.id.desc()))
    assert [(a.ward_code, a.town) for a in version.areas] == [
        ("27127", "天神橋五丁目"), ("27127", "梅田"), ("27128", "谷町九丁目")]


def test_the_preview_counts_customers_per_town_and_marks_the_empty_ones(client, login_as):
    staff = login_as("disaster_coordinator")
    customer("天神橋五丁目"), customer("天神橋5丁目"), customer("中崎二丁目")
    opted_out = factories.account(global_notifications=False)  # a contract, but no mail
    factories.link(opted_out, factories.contract(town="茶屋町"), main=True)
    version = outage_notices.create_draft(staff, notice_input(towns={"27127": "天神橋５丁目、中崎、茶屋町、中津7丁目"}))
    db.session.commit()

    html = client.get(f"/disaster/notices/{version.notice_id}/preview").get_data(as_text=True)
    rows = re.findall(r'<tr class="([^"]*)" data-testid="area-count" data-town="([^"]*)" '
                      r'data-recipients="(\d+)" data-contracts="(\d+)"', html)
    assert [(town, int(r), int(c)) for _cls, town, r, c in rows] == [
        ("天神橋五丁目", 2, 2), ("中崎", 1, 1), ("茶屋町", 0, 1), ("中津七丁目", 0, 0)]
    marks = {town: cls for cls, town, _r, _c in rows}
    assert marks["天神橋五丁目"] == "" and marks["中崎"] == ""
    assert marks["茶屋町"] == "table-warning" and marks["中津七丁目"] == "table-danger"
    assert "契約が0件です。" in html
    assert "<strong>3</strong> 人" in html  # the mail goes to each account once


def test_each_versions_mail_carries_its_number_and_kind(app, database, smtp_server):
    from console.jobs.mail import enqueue_mail

    staff = factories.staff("disaster_coordinator")
    reached = customer("天神橋五丁目")
    version = outage_notices.create_draft(staff, notice_input(towns={"27127": "天神橋5丁目"}))
    assert outage_mail.mail_subject(version).startswith("【大阪市水道局】【第1報】")  # as the preview shows it
    first, first_mail = outage_notices.publish_draft(staff, version.notice_id)
    outage_notices.save_draft(staff, first.notice_id, notice_input(towns={"27127": "天神橋5丁目"},
                                                                   body="復旧作業を続けています。"))
    second, second_mail = outage_notices.publish_draft(staff, first.notice_id)
    resolved, resolved_mail = outage_notices.close_notice(staff, first.notice_id, cancel=False,
                                                          message="断水は解消しました。")
    db.session.commit()
    for notification_id in (first_mail, second_mail, resolved_mail):
        enqueue_mail(notification_id)  # no Redis: the batches run inline, to the SMTP server

    assert [m["To"] for m in smtp_server.messages] == [reached.email] * 3
    subjects = [m["Subject"] for m in smtp_server.messages]
    assert subjects == ["【大阪市水道局】【第1報】天神橋で断水", "【大阪市水道局】【第2報】天神橋で断水",
                        "【大阪市水道局】【解消】天神橋で断水"]
    first_lines = [m.get_content().splitlines()[0] for m in smtp_server.messages]
    assert first_lines == subjects
    assert "対象地域：北区（天神橋五丁目）" in smtp_server.messages[0].get_content()
    assert [first.version_no, second.version_no, resolved.version_no] == [1, 2, 3]


def test_per_area_counts_take_an_account_once_per_area_however_its_contracts_spell_the_town(database):
    staff = factories.staff("disaster_coordinator")
    company = factories.account()
    for town in ("天神橋五丁目", "天神橋6丁目", "天神橋５丁目"):
        factories.link(company, factories.contract(town=town))
    central = factories.account()
    factories.link(central, factories.contract(ward_code="27128", town="谷町一丁目"), main=True)
    factories.link(central, factories.contract(ward_code="27128", town="本町一丁目"))
    factories.link(factories.account(global_notifications=False), factories.contract(ward_code="27128"), main=True)

    version = outage_notices.create_draft(staff, notice_input(wards=("27127", "27128"),
                                                              towns={"27127": "天神橋、天神橋5丁目"}))
    assert outage_mail.area_counts(version) == [
        outage_mail.AreaCount("27127", "天神橋", 1, 3), outage_mail.AreaCount("27127", "天神橋五丁目", 1, 2),
        outage_mail.AreaCount("27128", None, 1, 3),
    ]
    assert outage_mail.count_recipients(version) == 2
