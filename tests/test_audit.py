"""The audit trail: one row per service change, append-only in the database, readable by supervisors."""

from __future__ import annotations

import ast
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from console import clock
from console.extensions import db
from console.models import AuditAction, AuditEvent, AuditTarget, LabelledEnum, SessionEndReason, VersionType
from console.services import staff as staff_service
from console.services.audit import record
from tests import factories
from tests.conftest import sign_in
from tests.report_helpers import build, data_rows, temporary_reports_dir

CONSOLE = Path(__file__).resolve().parent.parent / "console"


@pytest.fixture()
def reports_dir(app, tmp_path):
    """Report files go to a temporary folder."""
    yield from temporary_reports_dir(app, tmp_path)


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def test_a_service_change_writes_exactly_one_audit_row(database):
    admin = factories.staff("admin")
    before = _count()
    created = staff_service.create_staff(admin, "new.member@example.jp", "新人 花子", ["operator"], factories.PASSWORD)
    assert _count() == before + 1
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.staff_id, event.target_id) == ("staff.create", admin.id, str(created.id))
    assert event.staff_email == admin.email


@pytest.mark.parametrize("statement", ["UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"])
def test_database_refuses_update_and_delete(database, statement):
    staff = factories.staff("operator")
    from console.services.audit import record

    record(staff, "customer.view", target=staff)
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
    assert "K000000001" in html and "お客さま情報の閲覧" in html
    other = client.get("/audit/?flt0_customer_number_equals=K999999999").get_data(as_text=True)
    assert "お客さま情報の閲覧" not in other


def test_audit_row_carries_request_id_and_address(client):
    staff = factories.staff("operator")
    db.session.commit()
    sign_in(client, staff.email, factories.PASSWORD)
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "staff.login", AuditEvent.staff_id == staff.id)
    ).one()
    assert event.request_id and event.client_addr == "127.0.0.1"


def _recorded_actions() -> list[tuple[str, int, ast.expr]]:
    """Every record(...) call in console/: (file, line, the action argument)."""
    calls = []
    for path in CONSOLE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or len(node.args) < 2:
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name == "record":
                calls.append((str(path.relative_to(CONSOLE)), node.lineno, node.args[1]))
    return calls


def test_every_recorded_action_is_a_member():
    calls = _recorded_actions()
    assert len(calls) > 50  # the scan finds the calls (a broken scan must not pass silently)
    for where, line, action in calls:
        if isinstance(action, ast.Constant):
            assert action.value in AuditAction.__members__.values(), f"{where}:{line} {action.value}"
        elif isinstance(action, ast.Attribute) and isinstance(action.value, ast.Name):
            assert action.value.id == "AuditAction" and action.attr in AuditAction.__members__, f"{where}:{line}"
        else:
            # The computed actions: publishing records outage.<version type>, an ended sign-in
            # staff.session_ended.<reason> (a sign-out is staff.logout).
            assert isinstance(action, ast.JoinedStr) and action.values[0].value in (
                "outage.", "staff.session_ended."), f"{where}:{line}"
    assert {AuditAction(f"outage.{t.value}") for t in VersionType}
    assert {AuditAction(f"staff.session_ended.{r.value}") for r in SessionEndReason if r != SessionEndReason.SIGNED_OUT}


@pytest.mark.parametrize("enum", LabelledEnum.__subclasses__(), ids=lambda e: e.__name__)
def test_every_member_has_its_own_japanese_label(enum):
    labels = [m.label for m in enum]
    assert all(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", label) for label in labels)
    assert len(set(labels)) == len(labels)


def test_record_refuses_an_action_or_target_type_it_cannot_name(database):
    staff = factories.staff("operator")
    before = _count()
    with pytest.raises(ValueError):
        record(staff, "customer.veiw", target=staff)
    with pytest.raises(ValueError):
        record(staff, AuditAction.CUSTOMER_VIEW, target_type="customer", target_id=1)
    assert _count() == before
    event = record(staff, AuditAction.CUSTOMER_VIEW, target=staff)
    assert (event.action, event.target_type) == ("customer.view", "staff")


def _record_every_action(staff) -> None:
    targets = list(AuditTarget)
    for i, action in enumerate(AuditAction):
        record(staff, action, target_type=targets[i % len(targets)], target_id=i, customer_number="K000000077")


def _cells(html: str, column: str) -> list[str]:
    return [c.strip() for c in re.findall(rf'<td class="col-{column}">(.*?)</td>', html, re.DOTALL)]


def test_audit_list_shows_every_action_and_target_type_by_its_label(client, login_as):
    supervisor = login_as("supervisor")
    _record_every_action(supervisor)
    db.session.commit()
    actions, targets = [], []
    for page in range(len(AuditAction) // 50 + 1):
        html = client.get(f"/audit/?flt0_customer_number_equals=K000000077&page={page}").get_data(as_text=True)
        actions += _cells(html, "action")
        targets += _cells(html, "target_type")
    assert sorted(actions) == sorted(m.label for m in AuditAction)
    assert set(targets) == {m.label for m in AuditTarget}


def test_audit_report_shows_every_action_and_target_type_by_its_label(database, reports_dir):
    supervisor = factories.staff("supervisor")
    _record_every_action(supervisor)
    today = clock.today()
    period = {"start": (today - timedelta(days=1)).isoformat(), "end": (today + timedelta(days=1)).isoformat(),
              "customer_number": "K000000077"}
    _run, wb = build("audit", period, supervisor)
    rows = data_rows(wb["監査ログ"])
    assert sorted(r[3] for r in rows) == sorted(m.label for m in AuditAction)
    assert {r[4] for r in rows} == {m.label for m in AuditTarget}
