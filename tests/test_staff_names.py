"""Staff appear by name, never by id (issue 15): the pages that said 「職員 #1」 or 「受付者 1」."""

from __future__ import annotations

import re

from sqlalchemy import select

from console.extensions import db
from console.models import Handover, NameChange, PrintBatch, ReissueRequest
from console.services import holders
from console.services.audit import record
from tests import factories
from tests.conftest import sign_in
from tests.test_access import ROLES, _sample_ids


def _shows_name_not_id(client, url, staff):
    body = client.get(url).get_data(as_text=True)
    assert staff.name in body, url
    assert not re.search(rf"職員 ?#{staff.id}\b|<td>{staff.id}</td>", body), url


def test_pages_show_staff_by_name(client):
    ids = _sample_ids()
    change = db.session.get(NameChange, ids["change_id"])
    supervisor = factories.staff("supervisor", name="承認する職員")
    holders.approve_name_change(supervisor, change.id, "確認済み")
    reissue = db.session.get(ReissueRequest, ids["request_id"])
    batch = db.session.get(PrintBatch, ids["batch_id"])
    viewer = factories.staff(*ROLES, name="閲覧者")
    db.session.commit()
    assert sign_in(client, viewer.email, factories.PASSWORD).status_code == 302

    _shows_name_not_id(client, f"/reissue/{reissue.id}", reissue.requested_by)
    _shows_name_not_id(client, f"/name-changes/{change.id}", change.requested_by)
    _shows_name_not_id(client, f"/name-changes/{change.id}", supervisor)
    _shows_name_not_id(client, "/print-batches/", batch.created_by)


def test_name_change_list_shows_who_took_it(client):
    ids = _sample_ids()
    change = db.session.get(NameChange, ids["change_id"])
    viewer = factories.staff(*ROLES, name="閲覧者")
    db.session.commit()
    assert sign_in(client, viewer.email, factories.PASSWORD).status_code == 302
    _shows_name_not_id(client, "/name-changes/", change.requested_by)


def _signed_in_viewer(client, *roles):
    viewer = factories.staff(*(roles or ROLES), name="閲覧者")
    db.session.commit()
    assert sign_in(client, viewer.email, factories.PASSWORD).status_code == 302
    return viewer


def test_audit_log_list_and_details_name_the_actor(client):
    actor = factories.staff("operator", name="監査 花子", email="kansa.hanako@example.jp")
    contract = factories.contract()
    event = record(actor, "customer.view", target=contract, customer_number=contract.customer_number)
    _signed_in_viewer(client, "supervisor")
    listing = client.get(f"/audit/?flt0_customer_number_equals={contract.customer_number}").get_data(as_text=True)
    assert "監査 花子" in listing and "kansa.hanako@example.jp" not in listing
    details = client.get(f"/audit/details/?id={event.id}").get_data(as_text=True)
    assert "監査 花子" in details


def test_reissue_history_and_the_customers_who_viewed_table_name_staff(client):
    ids = _sample_ids()
    reissue = db.session.get(ReissueRequest, ids["request_id"])
    viewer = _signed_in_viewer(client)
    detail = client.get(f"/reissue/{reissue.id}").get_data(as_text=True)
    history = detail.split('data-testid="history"')[1]
    assert reissue.requested_by.name in history and reissue.requested_by.email not in history
    assert "お知らせ票再発行の受付" in history

    client.get(f"/customer/contract/{reissue.contract_id}")
    page = client.get(f"/customer/contract/{reissue.contract_id}").get_data(as_text=True)
    viewed = page.split('data-testid="audit"')[1]
    assert viewer.name in viewed and viewer.email not in viewed
    assert reissue.requested_by.name in viewed
    assert "お客さま情報の閲覧" in viewed and "customer.view" not in viewed  # the action by its label too


def test_lists_name_who_took_each_request(client):
    ids = _sample_ids()
    reissue = db.session.get(ReissueRequest, ids["request_id"])
    batch = db.session.get(PrintBatch, ids["batch_id"])
    handover = db.session.scalars(select(Handover)).first()
    _signed_in_viewer(client)
    for status in ("requested", "in_batch"):
        body = client.get(f"/reissue/?status={status}").get_data(as_text=True)
        if f"/reissue/{reissue.id}\"" in body:
            break
    assert reissue.requested_by.name in body
    _shows_name_not_id(client, f"/print-batches/{batch.id}", batch.created_by)
    # The handover list has a count column (a bare <td>1</td> may be a count there): its taker's cell is checked.
    assert f"<td>{handover.created_by.name}</td>" in client.get("/handovers/").get_data(as_text=True)
    _shows_name_not_id(client, f"/handovers/{handover.id}", handover.created_by)
