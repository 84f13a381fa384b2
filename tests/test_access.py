"""Every URL rule of the app × every role: anonymous → sign-in, wrong role → 403, right role → served.

A new page cannot be added unguarded: an endpoint that is neither public nor part of a console view
with required roles fails test_every_endpoint_is_classified.
"""

from __future__ import annotations

from datetime import date

import pytest
from flask_admin.contrib.sqla import ModelView
from sqlalchemy import select

from console import clock
from console.extensions import db
from console.models import FollowUp, Role
from tests import factories
from tests.conftest import csrf_token, sign_in

# Reachable without signing in (Q45's public disaster pages join this list).
PUBLIC_ENDPOINTS = {"static", "admin.static", "auth.login", "health.healthz", "health.favicon"}
# The sign-in's second step and first-sign-in enrolment: open only to a session whose password was accepted.
PUBLIC_ENDPOINTS |= {"auth.second_factor", "auth.enrol"}
PUBLIC_ENDPOINTS |= {
    "public.index", "public.supply_points", "public.supply_points_json", "public.supply_points_geojson",
    "public.alerts", "public.alerts_json", "public.alerts_atom", "public.alert_cap",
}
# Signed-in staff of any role, outside Flask-Admin.
SIGNED_IN_ENDPOINTS = {"auth.logout"}
ROLES = [r.value for r in Role]


def _views_by_endpoint(app):
    (admin,) = app.extensions["admin"]
    return {view.endpoint: view for view in admin._views}


def _rules(app):
    return sorted(app.url_map.iter_rules(), key=lambda r: r.rule)


def _guarded_rules(app):
    views = _views_by_endpoint(app)
    out = []
    for rule in _rules(app):
        if rule.endpoint in PUBLIC_ENDPOINTS | SIGNED_IN_ENDPOINTS:
            continue
        view = views[rule.endpoint.split(".")[0]]
        out.append((rule, view))
    return out


def _sample_ids():
    """One existing row per model view and URL argument, so every page has something to show."""
    staff = factories.staff("operator")
    from console.services.audit import record

    event = record(staff, "customer.view", target=staff)
    contract = factories.contract()
    account = factories.account(locked_at=clock.now(), failed_login_count=10)
    link = factories.link(account, contract, main=True)
    from console.services import handovers, holders

    other = factories.contract()
    change = holders.request_name_change(
        staff, other, new_holder_name="新しい 名義", new_holder_kana="アタラシイ メイギ", new_holder_kind="person",
        effective_date=date(2026, 12, 1), identity_check="電話で確認",
    )
    handover = handovers.open_handover(
        staff, old_company_name="旧管理", new_company_name="新管理", new_company_kana="シンカンリ",
        customer_numbers=factories.contract().customer_number, target_date=date(2026, 12, 1), identity_check="書類",
    )
    start = factories.start_application()
    stop = factories.stop_application(factories.contract())
    factories.stop_application(factories.contract(), move_group="move-sample")
    factories.start_application(move_group="move-sample")
    from console.models import Channel, PaymentMethodChange

    payment_change = PaymentMethodChange(contract_id=contract.id, from_method="payment_notice", to_method="e_payment",
                                         channel=Channel.PORTAL)
    db.session.add(payment_change)
    db.session.flush()
    from console.services import report_runs

    report_run, _ = report_runs.start_run(factories.staff("supervisor"), "audit", {"start": "2026-10-01", "end": "2026-10-31"})
    from console.services import outage_notices, supply_points

    notice_input = outage_notices.NoticeInput(title="断水", body="本文", starts_at="2026-11-25T06:00", wards=("27127",))
    coordinator = factories.staff("disaster_coordinator")
    notice_draft = outage_notices.create_draft(coordinator, notice_input)
    outage_notices.publish_draft(coordinator, notice_draft.notice_id)
    outage_notices.save_draft(coordinator, notice_draft.notice_id, notice_input)
    point = supply_points.create_supply_point(coordinator, supply_points.SupplyPointInput(
        code="SP-ACCESS", name="拠点", kana="キョテン", ward_code="27127", address="北区", latitude="34.7",
        longitude="135.5"))
    from console.services import print_batches, reissue_requests

    billed = factories.contract()
    factories.bill(billed, date(2023, 12, 1))
    reissue_request = reissue_requests.request_reissue(
        staff, billed, months=[date(2023, 12, 1)], send_to="mailing_address", caller_relation="holder"
    )
    from console.services import contacts

    contact = contacts.record_contact(staff, contacts.ContactInput(
        category="registration", memo="メモ", follow_up_what="折り返し"), contract=contract)
    contacts.record_contact(staff, contacts.ContactInput(category="other", caller_phone="0312345678"))
    batch = print_batches.gather_print_batch(factories.staff("supervisor"), "manual-20261125120000-a0c3e5", clock.now())
    print_batches.write_batch_files(batch)
    from console.services import staff_sessions

    elsewhere, _ = staff_sessions.start_session(staff, client_addr="192.0.2.1", user_agent="Mozilla/5.0 (Windows NT 10.0)")
    return {
        "session_id": elsewhere.id,
        "staff_id": staff.id,
        "request_id": reissue_request.id,
        "batch_id": batch.id,
        "notice_id": notice_draft.notice_id,
        "point_id": point.id,
        "report": "audit",
        "run_id": report_run.id,
        "application_id": start.id,
        "stop_id": stop.id,
        "move_group": "move-sample",
        "payment_change_id": payment_change.id,
        "link_id": link.id,
        "action": "main",
        "change_id": change.id,
        "handover_id": handover.id,
        "staff": staff.id,
        "audit": event.id,
        "locked_accounts": account.id,
        "account_id": account.id,
        "contract_id": contract.id,
        "export_type": "csv",
        "contact_id": contact.id,
        "follow_up_id": db.session.scalar(select(FollowUp.id).where(FollowUp.contact_id == contact.id)),
        "category_id": contact.category_id,
    }


def _url(rule, sample_ids) -> str:
    values = {arg: sample_ids[arg] for arg in rule.arguments}
    path = rule.build(values)[1] if rule.arguments else rule.rule
    endpoint = rule.endpoint.split(".")[1] if "." in rule.endpoint else rule.endpoint
    view = rule.endpoint.split(".")[0]
    if endpoint in {"details_view", "edit_view"}:
        path += f"?id={sample_ids[view]}"
    return path


# Custom views' GET endpoints serve a page, except these, which redirect by design.
REDIRECTING_ENDPOINTS = {"reports.download", "customer.index"}


def _serves_a_page(view, endpoint: str) -> bool:
    if endpoint in REDIRECTING_ENDPOINTS:
        return False
    name = endpoint.split(".")[1]
    if not isinstance(view, ModelView):
        return True
    return {
        "index_view": True,
        "details_view": view.can_view_details,
        "create_view": view.can_create,
        "edit_view": view.can_edit,
    }.get(name, False)


def test_every_endpoint_is_classified(app):
    views = _views_by_endpoint(app)
    for rule in _rules(app):
        if rule.endpoint in PUBLIC_ENDPOINTS | SIGNED_IN_ENDPOINTS:
            continue
        view = views.get(rule.endpoint.split(".")[0])
        assert view is not None, f"{rule.rule} ({rule.endpoint}) is not public and not a guarded console view"
        assert view.required_roles, f"{rule.endpoint}: a console view must name its roles"


def _request(client, rule, url):
    if "GET" in rule.methods:
        return client.get(url)
    return client.post(url, data={"csrf_token": csrf_token(client, "/login" if not _signed_in(client) else "/")})


def _signed_in(client) -> bool:
    with client.session_transaction() as session:
        return "_user_id" in session


def test_anonymous_is_sent_to_sign_in(client):
    ids = _sample_ids()
    db.session.commit()
    for rule, _view in _guarded_rules(client.application):
        response = _request(client, rule, _url(rule, ids))
        assert response.status_code == 302, rule.rule
        assert response.headers["Location"].startswith("/login"), rule.rule


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_its_pages(client, role):
    ids = _sample_ids()
    staff = factories.staff(role)
    db.session.commit()
    assert sign_in(client, staff.email, factories.PASSWORD).status_code == 302
    for rule, view in _guarded_rules(client.application):
        url = _url(rule, ids)
        response = _request(client, rule, url)
        if Role(role) in view.required_roles:
            assert response.status_code != 403, url
            assert not response.headers.get("Location", "").startswith("/login"), url
            if "GET" in rule.methods and _serves_a_page(view, rule.endpoint):
                assert response.status_code == 200, (url, response.status_code)
        else:
            assert response.status_code == 403, (role, url, response.status_code)


@pytest.mark.parametrize("role", ROLES)
def test_public_and_signed_in_endpoints(client, role):
    staff = factories.staff(role)
    db.session.commit()
    assert client.get("/healthz").status_code == 200
    assert client.get("/login").status_code == 200
    sign_in(client, staff.email, factories.PASSWORD)
    assert client.post("/logout", data={"csrf_token": csrf_token(client)}).status_code == 302


def test_menu_shows_only_what_the_role_may_open(client):
    staff = factories.staff("operator")
    db.session.commit()
    sign_in(client, staff.email, factories.PASSWORD)
    home = client.get("/").get_data(as_text=True)
    assert "監査ログ" not in home and "職員" not in home.replace("テスト職員", "")


@pytest.mark.parametrize(
    "path, data",
    [
        ("/staff/action/", {"action": "unlock", "rowid": ["1"]}),
        ("/staff/delete/", {"id": "1"}),
        ("/staff/new/", {"email": "x@example.jp", "name": "x", "roles": ["operator"], "password": "p" * 20}),
        ("/logout", {}),
        ("/login", {"email": "x@example.jp", "password": "p"}),
    ],
)
def test_post_without_csrf_token_is_refused(client, login_as, path, data):
    from sqlalchemy import func, select

    from console.models import Staff

    login_as("admin")
    before = db.session.scalar(select(func.count()).select_from(Staff))
    response = client.post(path, data=data)
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Staff)) == before
