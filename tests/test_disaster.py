"""Outage notices and supply points (issue 7): versions, recipients, CAP/Atom/JSON output, public pages."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import feedparser
import pytest
from lxml import etree
from sqlalchemy import func, select

from console import clock
from console.extensions import db
from console.models import (
    AuditEvent,
    Delivery,
    DeliveryStatus,
    Notification,
    OutageNotice,
    SupplyPoint,
    SupplyPointStatus,
)
from console.services import DomainError, outage_mail, outage_notices, supply_points
from tests import factories
from tests.conftest import csrf_token

CAP_XSD = etree.XMLSchema(etree.parse(str(Path(__file__).parent / "data" / "CAP-v1.2.xsd")))
CAP = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}


@pytest.fixture(autouse=True)
def fresh_public_pages(app):
    """The public pages re-check the database on every request here, so a change shows at once."""
    previous = app.config.get("PUBLIC_CACHE_SECONDS")
    app.config["PUBLIC_CACHE_SECONDS"] = 0
    yield
    app.config["PUBLIC_CACHE_SECONDS"] = previous if previous is not None else 1.0


def publish(staff, **overrides):
    version = outage_notices.create_draft(staff, factories.notice_input(**overrides))
    return outage_notices.publish_draft(staff, version.notice_id)


def cap_of(client, version_id):
    response = client.get(f"/public/alerts/{version_id}.xml")
    assert response.status_code == 200
    assert response.mimetype == "application/cap+xml"
    document = etree.fromstring(response.data)
    CAP_XSD.assertValid(document)
    return document


def text(document, path):
    return document.findtext(path, namespaces=CAP)


def test_publish_update_cancel_through_the_console_gives_a_chain_of_valid_cap_messages(app, client, login_as):
    coordinator = login_as("disaster_coordinator")
    token = csrf_token(client, "/disaster/notices/new")
    form = {
        "csrf_token": token, "mode": "actual", "kind": "emergency", "phenomenon": "outage",
        "title": "北区で断水", "body": "配水管の破損により断水しています。", "guidance": "給水拠点をご利用ください。",
        "starts_at": "2026-11-25T06:00", "expected_restoration_at": "2026-11-25T18:00",
        "wards": ["27127"], "towns_27127": "梅田一丁目、梅田二丁目",
    }
    response = client.post("/disaster/notices/new", data=form)
    assert response.status_code == 302
    notice = db.session.scalar(select(OutageNotice).order_by(OutageNotice.id.desc()))
    assert client.get(f"/disaster/notices/{notice.id}/preview").status_code == 200
    assert client.post(f"/disaster/notices/{notice.id}/publish", data={"csrf_token": token}).status_code == 302
    # An update: a new draft from the published version, with a wider area.
    form.update(wards=["27127", "27128"], towns_27127="", body="断水範囲が中央区に広がりました。")
    assert client.post(f"/disaster/notices/{notice.id}/draft", data=form).status_code == 302
    assert client.post(f"/disaster/notices/{notice.id}/publish", data={"csrf_token": token}).status_code == 302
    response = client.post(f"/disaster/notices/{notice.id}/close",
                           data={"csrf_token": token, "action": "cancel", "message": "誤って発表しました。"})
    assert response.status_code == 302

    db.session.expire_all()
    notice = db.session.get(OutageNotice, notice.id)
    assert notice.status == "cancelled"
    versions = notice.versions
    assert [v.version_no for v in versions] == [1, 2, 3]
    assert all(v.published_by_id == coordinator.id for v in versions)

    anonymous = app.test_client()
    docs = [cap_of(anonymous, v.id) for v in versions]
    assert [text(d, "cap:msgType") for d in docs] == ["Alert", "Update", "Cancel"]
    assert {text(d, "cap:status") for d in docs} == {"Actual"}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00", text(d, "cap:sent")) for d in docs)
    references = [(text(d, "cap:sender"), text(d, "cap:identifier"), text(d, "cap:sent")) for d in docs]
    assert text(docs[0], "cap:references") is None
    assert text(docs[1], "cap:references") == ",".join(references[0])
    assert text(docs[2], "cap:references").split(" ") == [",".join(r) for r in references[:2]]
    assert len({r[1] for r in references}) == 3
    areas = docs[1].findall("cap:info/cap:area", CAP)
    assert [a.findtext("cap:geocode/cap:value", namespaces=CAP) for a in areas] == ["27127", "27128"]
    assert "梅田一丁目" in docs[0].findtext("cap:info/cap:area/cap:areaDesc", namespaces=CAP)
    assert text(docs[0], "cap:info/cap:category") == "Infra"
    assert text(docs[0], "cap:info/cap:language") == "ja-JP"
    # Every publication is audited once.
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("outage.%"))).all()
    assert actions.count("outage.alert") == 1 and actions.count("outage.update") == 1
    assert actions.count("outage.cancel") == 1


def test_published_versions_cannot_be_changed_and_the_mode_is_fixed(database):
    staff = factories.staff("disaster_coordinator")
    version, _ = publish(staff, mode="exercise")
    with pytest.raises(DomainError, match="発表区分"):
        outage_notices.save_draft(staff, version.notice_id, factories.notice_input(mode="actual"))
    draft = outage_notices.save_draft(staff, version.notice_id, factories.notice_input(mode="exercise", title="続報"))
    assert draft.id != version.id and draft.version_no == 2
    db.session.refresh(version)
    assert version.title == "断水のお知らせ"
    with pytest.raises(DomainError):
        outage_notices.create_draft(staff, factories.notice_input(wards=()))
    with pytest.raises(DomainError, match="区のコード"):
        outage_notices.create_draft(staff, factories.notice_input(wards=("99999",)))
    with pytest.raises(DomainError, match="復旧見込み"):
        outage_notices.create_draft(staff, factories.notice_input(expected_restoration_at="2026-11-25T05:00"))


def _customer(ward="27127", town="梅田一丁目", contracts=1, **account):
    row = factories.account(**account)
    for n in range(contracts):
        factories.link(row, factories.contract(ward_code=ward, town=town), main=n == 0)
    return row


def test_recipients_one_mail_per_account_and_only_those_who_may_get_it(app, database, smtp_server):
    staff = factories.staff("disaster_coordinator")
    five = _customer(contracts=5)
    single = _customer(town="梅田二丁目")
    opted_out = _customer(global_notifications=False)
    withdrawn = _customer(withdrawn_at=clock.now())
    elsewhere = _customer(ward="27128", town="本町一丁目")
    ended = factories.account()
    factories.link(ended, factories.contract(), main=True, ended_at=clock.now())
    stopped = factories.account()
    factories.link(stopped, factories.contract(stop_date=date(2025, 3, 31)), main=True)
    other_town = _customer(town="茶屋町")

    version, notification_id = publish(staff, wards=("27127",), towns={"27127": "梅田一丁目、梅田二丁目"})
    db.session.commit()
    from console.jobs.mail import enqueue_mail

    enqueue_mail(notification_id)  # no Redis: the batches run inline, to the SMTP server

    received = [m["To"] for m in smtp_server.messages]
    assert sorted(received) == sorted([five.email, single.email])
    for absent in (opted_out, withdrawn, elsewhere, ended, stopped, other_town):
        assert absent.email not in received
    assert outage_mail.delivery_progress(notification_id) == {
        "total": 2, "sent": 2, "failed": 0, "remaining": 0, "done": True,
    }
    message = smtp_server.messages[0]
    assert "断水のお知らせ" in message["Subject"]
    assert "梅田一丁目" in message.get_content()
    # Running the batch again sends nothing twice.
    enqueue_mail(notification_id, [(1, 10**12)])
    assert len(smtp_server.messages) == 2


def test_exercise_and_test_versions_never_mail(app, database, smtp_server):
    staff = factories.staff("disaster_coordinator")
    _customer(contracts=2)
    for mode in ("exercise", "test"):
        version, notification_id = publish(staff, mode=mode)
        assert notification_id is None
        assert outage_mail.notification_for(version) is None
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0
    assert smtp_server.messages == []


def test_exercise_is_marked_everywhere(app, database):
    staff = factories.staff("disaster_coordinator")
    version, _ = publish(staff, mode="exercise", title="地震訓練の断水")
    client = app.test_client()
    assert "これは訓練のお知らせです" in client.get("/public/alerts").get_data(as_text=True)
    doc = cap_of(client, version.id)
    assert text(doc, "cap:status") == "Exercise"
    feed = feedparser.parse(client.get("/public/alerts.atom").data)
    entry = next(e for e in feed.entries if "地震訓練の断水" in e.title)
    assert entry.title.startswith("【訓練】")
    alerts = json.loads(client.get("/public/alerts.json").data)
    assert any(n["mode"] == "exercise" and n["mode_label"] == "訓練" for n in alerts["notices"])


def test_public_pages_need_no_sign_in_and_show_no_personal_data(app, database):
    staff = factories.staff("disaster_coordinator", name="災害担当の職員")
    customer = _customer(name="秘密 花子", email="hanako.secret@example.jp")
    version, _ = publish(staff)
    db.session.flush()
    number = db.session.scalar(select(Delivery.address).limit(1))
    assert number == customer.email
    client = app.test_client()
    pages = ["/public/", "/public/supply-points", "/public/supply-points.json", "/public/supply-points.geojson",
             "/public/alerts", "/public/alerts.json", "/public/alerts.atom", f"/public/alerts/{version.id}.xml"]
    contract_number = customer.links[0].contract.customer_number
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        body = response.get_data(as_text=True)
        for secret in ("hanako.secret", "秘密", contract_number, staff.name, staff.email):
            assert secret not in body, (page, secret)
    assert "断水のお知らせ" in client.get("/public/alerts").get_data(as_text=True)


def test_feeds_have_the_documented_shape(app, database):
    staff = factories.staff("disaster_coordinator")
    point = db.session.scalar(select(SupplyPoint).order_by(SupplyPoint.id)) or supply_points.create_supply_point(
        staff, supply_points.SupplyPointInput(code="SP-T-1", name="テスト公園", kana="テストコウエン",
                                        point_type="temporary_tank", ward_code="27127", address="北区梅田1-1",
                                        latitude="34.70", longitude="135.50"))
    publish(staff)
    client = app.test_client()
    geo = json.loads(client.get("/public/supply-points.geojson").data)
    assert geo["type"] == "FeatureCollection"
    feature = next(f for f in geo["features"] if f["id"] == point.code)
    assert feature["geometry"] == {"type": "Point", "coordinates": [point.longitude, point.latitude]}
    assert "status" in feature["properties"] and "status_changed_at" in feature["properties"]
    data = json.loads(client.get("/public/supply-points.json").data)
    assert any(p["code"] == point.code for p in data["supply_points"])
    response = client.get("/public/alerts.atom")
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title.startswith("大阪市水道局")
    entry = next(e for e in feed.entries if e.title == "断水のお知らせ")
    cap_link = next(link for link in entry.links if link.type == "application/cap+xml")
    assert "/public/alerts/" in cap_link.href


def test_conditional_requests_get_304_until_something_changes(app, database):
    staff = factories.staff("disaster_coordinator")
    point = supply_points.create_supply_point(staff, supply_points.SupplyPointInput(
        code="SP-T-2", name="テスト小学校", kana="テストショウガッコウ", point_type="temporary_tap",
        ward_code="27127", address="北区梅田2-2", latitude="34.70", longitude="135.50"))
    client = app.test_client()
    for path in ("/public/supply-points.json", "/public/supply-points", "/public/alerts.atom"):
        first = client.get(path)
        assert first.headers["ETag"] and first.headers["Last-Modified"]
        assert client.get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
        assert client.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]}).status_code == 304
    before = client.get("/public/supply-points.json")
    supply_points.set_supply_status(staff, point, "open")
    after = client.get("/public/supply-points.json", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    record = next(p for p in json.loads(after.data)["supply_points"] if p["code"] == "SP-T-2")
    assert record["status"] == "open" and record["status_label"] == "開設中"


def test_supply_point_status_one_at_a_time_and_by_ward_keeps_the_history(client, login_as):
    staff = login_as("disaster_coordinator")
    points = [
        supply_points.create_supply_point(staff, supply_points.SupplyPointInput(
            code=f"SP-T-{n}", name=f"拠点{n}", kana="キョテン", point_type="temporary_tank", ward_code="27104",
            address=f"此花区{n}", latitude="34.68", longitude="135.45"))
        for n in range(3)
    ]
    db.session.commit()
    token = csrf_token(client, "/disaster/supply-points/")
    assert client.post(f"/disaster/supply-points/{points[0].id}/status",
                       data={"csrf_token": token, "status": "preparing"}).status_code == 302
    response = client.post("/disaster/supply-points/ward-status",
                           data={"csrf_token": token, "ward_code": "27104", "status": "open"}, follow_redirects=True)
    assert "3か所" in response.get_data(as_text=True) or "か所" in response.get_data(as_text=True)
    statuses = {p.code: s for p, s, _ in supply_points.current_supply_points("27104") if p.code.startswith("SP-T-")}
    assert set(statuses.values()) == {"open"}
    history = db.session.scalars(
        select(SupplyPointStatus.status).where(SupplyPointStatus.supply_point_id == points[0].id)
        .order_by(SupplyPointStatus.id)).all()
    assert history == ["closed", "preparing", "open"]
    # Same status again: refused for one point, skipped in bulk; bad status: a Japanese message, nothing added.
    with pytest.raises(DomainError, match="既に"):
        supply_points.set_supply_status(staff, points[0], "open")
    assert supply_points.set_ward_status(staff, "27104", "open", point_type="temporary_tank") == 0
    count = db.session.scalar(select(func.count()).select_from(SupplyPointStatus))
    response = client.post(f"/disaster/supply-points/{points[1].id}/status",
                           data={"csrf_token": token, "status": "bogus"}, follow_redirects=True)
    assert "状態（閉鎖・開設準備中・開設中・一時休止）を選んでください" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(SupplyPointStatus)) == count
    audits = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "supply_point.status"))
    assert audits == 1 + 3


def test_supply_point_validation(database):
    staff = factories.staff("disaster_coordinator")
    good = dict(code="sp-t-9", name="拠点", kana="きょてん", point_type="water_truck", ward_code="27127",
                address="北区", latitude="34.70", longitude="135.50")
    point = supply_points.create_supply_point(staff, supply_points.SupplyPointInput(**good))
    assert point.code == "SP-T-9" and point.kana == "キョテン"
    with pytest.raises(DomainError, match="既に使われて"):
        supply_points.create_supply_point(staff, supply_points.SupplyPointInput(**good))
    with pytest.raises(DomainError, match="範囲外"):
        supply_points.create_supply_point(staff, supply_points.SupplyPointInput(**{**good, "code": "SP-X", "latitude": "135.5",
                                                                        "longitude": "34.7"}))
    with pytest.raises(DomainError, match="区を選んで"):
        supply_points.create_supply_point(staff, supply_points.SupplyPointInput(**{**good, "code": "SP-Y", "ward_code": "1"}))


def test_coordinator_cannot_reach_customer_pages(client, login_as):
    login_as("disaster_coordinator")
    contract = factories.contract()
    db.session.commit()
    for path in ("/lookup/", f"/customer/contract/{contract.id}", "/name-changes/", "/audit/"):
        assert client.get(path).status_code == 403, path
    assert client.get("/disaster/notices/").status_code == 200


def test_operator_cannot_publish(client, login_as):
    login_as("operator")
    assert client.get("/disaster/notices/").status_code == 403
    assert client.get("/disaster/supply-points/").status_code == 403


class RefusingSink:
    """An SMTP server that refuses some recipients: 550 (permanent) or 451 (try later)."""

    def __init__(self, refuse: dict[str, str]):
        self.refuse = refuse
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(envelope.rcpt_tos[:])
        return "250 OK"


def test_refused_recipients_are_retried_with_backoff_or_failed_and_listed(app, client, login_as):
    from aiosmtpd.controller import Controller

    from console.jobs.mail import enqueue_mail
    from tests.conftest import _free_port

    staff = login_as("disaster_coordinator")
    ok, later, never = _customer(), _customer(), _customer()
    sink = RefusingSink({later.email: "451 4.3.0 try again later", never.email: f"550 5.1.1 <{never.email}> unknown"})
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    try:
        version, notification_id = publish(staff)
        db.session.commit()
        enqueue_mail(notification_id)
    finally:
        app.config.update(MAIL_SERVER=None, MAIL_PORT=25)
        controller.stop()
    assert sink.messages == [[ok.email]]
    rows = {d.account_id: d for d in db.session.scalars(
        select(Delivery).where(Delivery.notification_id == notification_id))}
    assert rows[ok.id].status == DeliveryStatus.SENT
    assert rows[later.id].status == DeliveryStatus.PENDING and rows[later.id].attempts == 1
    assert rows[later.id].next_attempt_at > clock.now() + timedelta(seconds=20)
    assert rows[never.id].status == DeliveryStatus.FAILED
    page = client.get(f"/disaster/notices/{version.notice_id}").get_data(as_text=True)
    assert f"#{never.id}" in page and f"#{later.id}" in page
    assert never.email not in page  # coordinators see no customer addresses
    assert outage_mail.delivery_progress(notification_id)["failed"] == 1
    # Not due yet: a rerun sends nothing.
    enqueue_mail(notification_id, [(1, 10**12)])
    assert rows[later.id].attempts == 1


def test_a_lease_held_by_a_dead_job_is_taken_again_once_it_runs_out(app, database, smtp_server):
    from console.jobs.mail import enqueue_mail

    staff = factories.staff("disaster_coordinator")
    first, second = _customer(), _customer()
    version, notification_id = publish(staff)
    db.session.flush()
    rows = {d.account_id: d for d in db.session.scalars(select(Delivery).where(
        Delivery.notification_id == notification_id))}
    rows[first.id].claimed_by, rows[first.id].claimed_until = "dead-job", clock.now() - timedelta(seconds=1)
    rows[second.id].claimed_by, rows[second.id].claimed_until = "live-job", clock.now() + timedelta(minutes=5)
    db.session.commit()
    enqueue_mail(notification_id)
    assert [m["To"] for m in smtp_server.messages] == [first.email]
    assert outage_mail.delivery_progress(notification_id)["remaining"] == 1


def test_progress_endpoint_reports_counts(client, login_as):
    staff = login_as("disaster_coordinator")
    _customer(contracts=2)
    version, notification_id = publish(staff)
    db.session.commit()
    data = client.get(f"/disaster/notices/{version.notice_id}/progress.json").get_json()
    assert data["versions"][str(version.id)] == {"total": 1, "sent": 0, "failed": 0, "remaining": 1, "done": False}
    page = client.get(f"/disaster/notices/{version.notice_id}").get_data(as_text=True)
    assert "disaster-progress.js" in page and "<script>" not in page


def test_one_notification_per_version(database):
    staff = factories.staff("disaster_coordinator")
    _customer()
    version, notification_id = publish(staff)
    assert db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.outage_version_id == version.id)) == 1
    with pytest.raises(DomainError, match="下書き"):
        outage_notices.publish_draft(staff, version.notice_id)
