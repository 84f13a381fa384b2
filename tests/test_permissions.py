"""Each service operation checks its own permission (console/services/permissions.py), so a view, a job and
a CLI command calling it cannot differ: every operation called as every role (DESIGN.md, "Who uses it")."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from sqlalchemy import func, select

import console.services
from console.models import AuditEvent, Role
from console.services import DomainError, permissions
from console.services import report_runs as runs
from tests import factories

DESK = {Role.OPERATOR, Role.SUPERVISOR}
SUPERVISOR = {Role.SUPERVISOR}
COORDINATOR = {Role.DISASTER_COORDINATOR}
ADMIN = {Role.ADMIN}

# DESIGN.md's table, operation by operation; "system" marks those a scheduled job or a set-up command runs.
EXPECTED = {
    "console.services.accounts.check_registration": DESK,
    "console.services.accounts.unlock_account": DESK,
    "console.services.accounts.request_password_reset": DESK,
    "console.services.accounts.view_locked_accounts": DESK,
    **{f"console.services.start_applications.{name}": DESK for name in (
        "record_start_application", "accept_start_application", "reject_start_application", "confirm_opened",
        "view_start_application", "start_queue", "accepted_not_started")},
    **{f"console.services.stop_applications.{name}": DESK for name in (
        "record_stop_application", "accept_stop_application", "reject_stop_application", "stop_queue")},
    "console.services.moves.accept_move": DESK,
    "console.services.payment_methods.decide_payment_change": DESK,
    "console.services.payment_methods.pending_payment_changes": DESK,
    "console.services.customer.view_contract_form": DESK,
    "console.services.holders.list_name_changes": DESK,
    "console.services.reissue_requests.list_requests": DESK,
    **{f"console.services.customer.{name}": DESK for name in (
        "view_account", "view_contract", "contract_bills", "confirm_identity", "reveal")},
    **{f"console.services.handovers.{name}": DESK for name in (
        "open_handover", "release_old_links", "link_new_account", "check_new_account")},
    "console.services.holders.request_name_change": DESK,
    "console.services.holders.view_name_change": DESK,
    "console.services.holders.approve_name_change": SUPERVISOR,
    "console.services.holders.return_name_change": SUPERVISOR,
    "console.services.holders.approve_name_changes": SUPERVISOR,
    **{f"console.services.links.{name}": DESK for name in ("add_on_behalf", "unlink", "set_main")},
    "console.services.listing.list_contracts": DESK,
    "console.services.listing.list_bills": DESK,
    "console.services.lookup.search": DESK,
    "console.services.reissue_requests.request_reissue": DESK,
    "console.services.reissue_requests.cancel_reissue": DESK,
    "console.services.reissue_requests.view_reissue": DESK,
    **{f"console.services.print_batches.{name}": SUPERVISOR for name in (
        "gather_print_batch", "view_print_batch", "mark_batch_mailed", "download_list", "download_notice", "download_notices_zip")},
    **{f"console.services.outage_notices.{name}": COORDINATOR for name in (
        "create_draft", "save_draft", "discard_draft", "publish_draft", "close_notice")},
    "console.services.outage_mail.retry_failed": COORDINATOR,
    "console.services.outage_desk.list_notices": DESK,
    "console.services.outage_desk.view_notice": DESK,
    "console.services.timeline.view_timeline": DESK,
    **{f"console.services.supply_points.{name}": COORDINATOR for name in (
        "create_supply_point", "update_supply_point", "set_supply_status", "set_ward_status")},
    **{f"console.services.staff.{name}": ADMIN for name in ("create_staff", "update_staff", "unlock_staff",
                                                             "set_password")},
    "console.services.second_factor.reset_second_factor": ADMIN,
    **{f"console.services.staff_sessions.{name}": set(Role) for name in (
        "own_sessions", "end_own_session", "end_other_sessions")},
    **{f"console.services.staff_sessions.{name}": ADMIN for name in ("member_sessions", "end_member_sessions")},
    "console.services.report_runs.request_report": SUPERVISOR,
    "console.services.report_runs.start_run": SUPERVISOR,
    "console.services.report_runs.download": SUPERVISOR,
    "console.services.audit_partitions.ensure_partitions": ADMIN,
    "console.services.audit_partitions.archive_before": ADMIN,
    **{f"console.services.contacts.{name}": DESK for name in (
        "record_contact", "correct_contact", "link_contact", "for_customer", "unidentified", "view_contact",
        "view_form")},
    "console.services.contacts.remove_expired_memos": ADMIN,
    **{f"console.services.follow_ups.{name}": DESK for name in (
        "open_lists", "view_follow_up", "take_next", "close_follow_up")},
    "console.services.follow_ups.reassign": SUPERVISOR,
    **{f"console.services.contact_categories.{name}": ADMIN for name in ("create_category", "update_category")},
}
SYSTEM = {
    "console.services.print_batches.gather_print_batch",  # the daily print batch job
    "console.services.report_runs.start_run",  # the monthly reports
    "console.services.staff.create_staff",  # flask staff create
    "console.services.staff.update_staff",
    "console.services.staff.unlock_staff",  # flask staff unlock
    "console.services.staff.set_password",
    "console.services.audit_partitions.ensure_partitions",  # the daily job, flask audit partitions
    "console.services.audit_partitions.archive_before",  # flask audit archive
    "console.services.contacts.remove_expired_memos",  # the daily retention job, flask contacts remove-expired-memos
}
# Functions that take the actor first but are steps inside the operations above, not operations of their own.
BUILDING_BLOCKS = {
    "console.services.links.link_contract", "console.services.payment_methods.apply_payment_method_to_unpaid",
    "console.services.outage_mail.record_outage_mails",
    "console.services.holders.may_decide",
    "console.services.customer.latest_identity_confirmation", "console.services.customer.require_identity",
    "console.services.audit.record", "console.services.permissions.allowed",
    "console.services.staff_sessions.end_sessions",  # a password change, a lock, an admin, a second-factor reset
    "console.services.second_factor.end_sessions_after_second_factor_reset",
}


def test_every_operation_is_guarded_as_design_says():
    for info in pkgutil.iter_modules(console.services.__path__):
        importlib.import_module(f"console.services.{info.name}")
    guarded = {name: set(op.required_roles) for name, op in permissions.OPERATIONS.items()}
    assert guarded == EXPECTED
    assert {name for name, op in permissions.OPERATIONS.items() if op.allows_system} == SYSTEM

    unguarded = []
    for module in [*(importlib.import_module(f"console.services.{i.name}")
                     for i in pkgutil.iter_modules(console.services.__path__)), runs]:
        for name, member in inspect.getmembers(module, inspect.isfunction):
            qualified = f"{member.__module__}.{name}"
            if member.__module__ != module.__name__ or name.startswith("_") or qualified in BUILDING_BLOCKS:
                continue
            first = next(iter(inspect.signature(member).parameters), None)
            if first == "actor" and qualified not in permissions.OPERATIONS:
                unguarded.append(qualified)
    assert unguarded == []


@pytest.mark.parametrize("role", list(Role))
def test_each_operation_refuses_every_other_role_and_changes_nothing(database, role):
    actor = factories.staff(role.value)
    before = db_audit_count()
    for name, operation in sorted(permissions.OPERATIONS.items()):
        if role in EXPECTED[name]:
            continue
        # Arguments past the actor are never looked at: the check comes first.
        with pytest.raises(DomainError) as refused:
            operation(actor, object(), object(), object())
        assert "が行います" in refused.value.message or "スーパーバイザー" in refused.value.message, name
    assert db_audit_count() == before


def test_the_system_acts_only_where_it_may(database):
    for name, operation in sorted(permissions.OPERATIONS.items()):
        if name in SYSTEM:
            assert permissions.allowed(None, operation.required_roles, system=operation.allows_system)
            continue
        with pytest.raises(DomainError):
            operation(None, object(), object(), object())


def test_a_permitted_role_gets_past_the_check(database):
    # The check lets the right roles through: an operation refuses an operator's bad input, not the operator.
    from console.services import lookup

    operator = factories.staff("operator")
    assert lookup.search(operator, "山田").query == "山田"
    coordinator = factories.staff("disaster_coordinator")
    with pytest.raises(DomainError, match="オペレーター"):
        lookup.search(coordinator, "山田")


def db_audit_count() -> int:
    from console.extensions import db

    return db.session.scalar(select(func.count()).select_from(AuditEvent))
