"""Staff appear by name, never by id (issue 15): the pages that said 「職員 #1」 or 「受付者 1」."""

from __future__ import annotations

import re

from console.extensions import db
from console.models import NameChange, PrintBatch, ReissueRequest
from console.services import holders
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
