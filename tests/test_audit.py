"""The audit trail: one row per service change, append-only in the database, readable by supervisors."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from console.extensions import db
from console.models import AuditEvent
from console.services import staff as staff_service
from tests import factories
from tests.conftest import sign_in


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def test_a_service_change_writes_exactly_one_audit_row(database):
    admin = factories.staff("admin")
    before = _count()
    created = staff_service.create_staff(admin, "new.member@example.jp", "新人 花子", ["operator"], "x" * 16)
    assert _count() == before + 1
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.staff_id, event.target_id) == ("staff.create", admin.id, str(created.id))
    assert event.staff_email == admin.email


@pytest.mark.parametrize("statement", ["UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"])
def test_database_refuses_update_and_delete(database, statement):
    staff = factories.staff("operator")
    from console.services.audit import record

    record(staff, "test.event", target=staff)
    nested = db.session.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(statement))
    nested.rollback()


@pytest.mark.postgresql
def test_database_refuses_truncate(database):
    nested = db.session.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text("TRUNCATE audit_event"))
    nested.rollback()


def test_supervisor_reads_and_filters_the_audit_log(client, login_as):
    supervisor = login_as("supervisor")
    target = factories.staff("operator")
    from console.services.audit import record

    record(supervisor, "customer.view", target=target, customer_number="K000000001", reason="電話問合せ")
    db.session.commit()
    page = client.get("/audit/?flt0_customer_number_equals=K000000001")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "K000000001" in html and "customer.view" in html
    other = client.get("/audit/?flt0_customer_number_equals=K999999999").get_data(as_text=True)
    assert "customer.view" not in other


def test_audit_row_carries_request_id_and_address(client):
    staff = factories.staff("operator")
    db.session.commit()
    sign_in(client, staff.email, factories.PASSWORD)
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "staff.login", AuditEvent.staff_id == staff.id)
    ).one()
    assert event.request_id and event.client_addr == "127.0.0.1"
