"""Every page that shows a customer's personal data writes an audit row (DESIGN.md, cross-cutting; issue 15):
every GET rule of the app, opened by a member of staff holding every role, is classified below, and each
one that renders personal data must have written at least one audit entry for that very request."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from console.extensions import db
from console.models import AuditEvent
from tests import factories
from tests.conftest import sign_in
from tests.test_access import ROLES, _rules, _sample_ids, _url

# Pages that render a customer's personal data (names, addresses, phones, e-mail, bills, the files sent out).
PERSONAL = {
    "reissue.new": "the reissue form: holder name and masked address",
    "reissue.index": "reissue requests: holder names and customer numbers",
    "name_changes.new": "the name-change form: the current holder",
    "name_changes.index": "pending name changes: old and new holder names",
    "applications.new_stop": "the stop form: the contract's holder and address",
    "applications.payment_changes": "payment-method changes by customer number",
    "applications.not_started": "contracts whose start was not confirmed: holder names",
    "applications.stops": "the stop-application queue: holder names and addresses",
    "applications.index": "the start-application queue: applicant names and addresses",
    "customer.account": "the 360° view of a portal account: name, contact data, contracts",
    "customer.contract": "the 360° view of a contract: holder, usage location, bills",
    "customer.bills": "a contract's older bills, a year at a time",
    "customer.account_timeline": "an account's timeline: changes, applications, mails by customer number",
    "customer.contract_timeline": "a contract's timeline: changes, applications, mails by customer number",
    "lookup.index": "search results: names, masked contact data, addresses",
    "contracts.index": "contract list: holders and usage locations",
    "bills.index": "bill list: customer numbers with their charges",
    "applications.detail": "a start application: the applicant's name, address, phone and e-mail",
    "applications.move": "a move within the city: both applications' names, addresses, phone",
    "locked_accounts.index_view": "locked portal accounts: names and masked e-mail addresses",
    "name_changes.detail": "a name change: the old and the new holder, identity check",
    "reissue.detail": "a reissue request: caller, destination address, months",
    "print_batches.detail": "a print batch: every request's customer and destination",
    "print_batches.download_list": "the mailing list (Excel): names and addresses",
    "print_batches.download_notice": "a reissued notice (PDF): name, address and usage",
    "print_batches.download_zip": "every reissued notice of a batch",
    "contacts.index": "contacts not yet linked to a customer: callers' numbers, outcomes",
    "contacts.detail": "a contact: its memo, the caller's number, the customer",
    "contacts.correct": "the correction form: the contact's memo and customer",
    "follow_ups.index": "open follow-ups: what was promised to which customer",
    "follow_ups.detail": "a follow-up and the close form: the promise and its customer",
}
# Personal data whose audit row other tests check, because the sample here cannot reach it.
AUDITED_ELSEWHERE = {
    "reports.download": "a report's Excel file; the sample run is not built, so it redirects here "
                        "(report_runs.download's audit row: tests/test_reports_jobs.py)",
}
# Pages without a customer's personal data.
NOT_PERSONAL = {
    "admin.index": "the home page: counts, and the follow-up lists, which audit themselves when they show any "
                   "(follow_ups.open_lists; tests/test_contacts.py)",
    "contacts.new": "the contact form: audited as a view of the customer it records on (contacts.view_form); "
                    "empty for a caller not yet identified (tests/test_contacts.py)",
    "contact_categories.index": "categories and FAQ questions, no customer",
    "static": "files", "admin.static": "files",
    "auth.login": "the sign-in page", "health.healthz": "the health check", "health.favicon": "the icon",
    "auth.second_factor": "the sign-in's code step", "auth.enrol": "second-factor enrolment: the member's own QR code",
    "staff.second_factor_reset": "a member of staff's second-factor state; staff, not customers",
    "applications.new": "an empty form to record an application",
    "registration_check.index": "GET is the empty form; the check itself is a POST (audited)",
    "customer.index": "redirects to the lookup",
    "handovers.index": "companies (not persons) and counts",
    "handovers.detail": "companies and their customer numbers' states; no person's data (step 3's ?account_id= "
                        "shows the typed account's holder, audited by handovers.check_new_account: test_desk_day.py)",
    "handovers.new": "an empty form",
    "print_batches.index": "batches: keys, counts and staff",
    "reports.index": "the catalogue and the runs: parameters and staff",
    "reports.run": "a run's progress", "reports.status": "a run's progress (JSON)",
    "audit.index_view": "the audit log: staff actions; supervisors only",
    "audit.details_view": "one audit entry", "audit.export": "the audit log as a file (not exportable)",
    "audit.create_view": "disabled", "audit.edit_view": "disabled", "audit.ajax_lookup": "no ajax fields",
    "locked_accounts.create_view": "disabled", "locked_accounts.edit_view": "disabled",
    "locked_accounts.details_view": "disabled", "locked_accounts.export": "disabled",
    "locked_accounts.ajax_lookup": "no ajax fields",
    "staff.index_view": "staff, not customers", "staff.details_view": "staff", "staff.create_view": "staff",
    "staff.edit_view": "staff", "staff.export": "staff", "staff.ajax_lookup": "staff",
    "staff.member_sessions": "a member of staff's sign-ins: devices and addresses of staff, no customer",
    "me.index": "the member's own sign-ins", "me.password": "the member's own password form",
    **{f"outage_notices.{name}": "disaster notices: areas, no customer"
       for name in ("index", "detail", "new", "edit", "preview", "progress")},
    **{f"supply_points.{name}": "public supply points" for name in ("index", "detail", "new", "edit")},
    "outages.index": "the desk's read-only list of published notices: areas, no customer",
    "outages.detail": "a published notice's versions and supply points: no customer",
    **{f"public.{name}": "public pages, no personal data" for name in (
        "index", "supply_points", "supply_points_json", "supply_points_geojson", "alerts", "alerts_json",
        "alerts_atom", "alert_cap")},
}
# A query string where a page shows nothing without one.
QUERY = {"lookup.index": "?q=%E3%83%86%E3%82%B9%E3%83%88"}


def _get_rules(app):
    return [r for r in _rules(app) if "GET" in r.methods]


def test_every_get_rule_is_classified(app):
    classified = [PERSONAL, AUDITED_ELSEWHERE, NOT_PERSONAL]
    for rule in _get_rules(app):
        homes = [c for c in classified if rule.endpoint in c]
        assert len(homes) == 1, f"{rule.endpoint} ({rule.rule}): classify it once as personal data or not"


def test_every_page_with_personal_data_writes_an_audit_row(client):
    ids = _sample_ids()
    staff = factories.staff(*ROLES)
    db.session.commit()
    assert sign_in(client, staff.email, factories.PASSWORD).status_code == 302
    for rule in _get_rules(client.application):
        if rule.endpoint in NOT_PERSONAL and rule.endpoint.split(".")[0] in ("static", "admin", "public"):
            continue  # files and the public pages: nothing of a member of staff's session to audit
        url = _url(rule, ids) + QUERY.get(rule.endpoint, "")
        request_id = uuid.uuid4().hex
        response = client.get(url, headers={"X-Request-ID": request_id})
        audited = db.session.scalars(select(AuditEvent.action).where(AuditEvent.request_id == request_id)).all()
        if rule.endpoint in PERSONAL:
            assert response.status_code == 200, (url, response.status_code)
            assert audited, f"{url} shows personal data ({PERSONAL[rule.endpoint]}) but wrote no audit row"
