"""Reissue of usage notices for 2023-12 and earlier (issue 6, R15): requests, print batches, Excel, PDF."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.orm import Session

from console import clock
from console.extensions import db
from console.formats import TOKYO, wareki_date
from console.jobs.reissue import (
    build_daily_print_batch,
    build_print_batch,
    next_daily_run,
    schedule_daily_print_batch,
)
from console.models import AuditEvent, Contract, PaymentMethod, PrintBatch, ReissueRequest, ReissueStatus
from console.services import DomainError, holders, print_batches, reissue_requests
from tests import factories
from tests.conftest import csrf_token, run_jobs

NOV, DEC, JAN = date(2023, 11, 1), date(2023, 12, 1), date(2024, 1, 1)
PORTAL_PATH = "「実績」>「過去の利用履歴」>「PDF出力」"


@pytest.fixture()
def people(database):
    """An operator and a supervisor."""
    return factories.staff("operator"), factories.staff("supervisor")


def billed_contract(*periods: date, **overrides):
    """A contract with a bill for each given month."""
    contract = factories.contract(**overrides)
    for period in periods:
        factories.bill(contract, period)
    return contract


def record_request(actor, contract, months, **kwargs):
    """A request to the contract's mailing address from the holder, unless told otherwise."""
    values = dict(send_to="mailing_address", caller_relation="holder")
    values.update(kwargs)
    return reissue_requests.request_reissue(actor, contract, months=months, **values)


def gather(supervisor, key=None):
    """Gather everything waiting into a new manual batch and write its files."""
    batch = print_batches.gather_print_batch(supervisor, key or print_batches.new_manual_batch_key(), clock.now())
    print_batches.write_batch_files(batch)
    return batch


def saved_for(contract) -> int:
    return db.session.scalar(
        select(func.count()).select_from(ReissueRequest).where(ReissueRequest.contract_id == contract.id)
    )


def actions_for(request) -> list[str]:
    return db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.target_type == "reissue_request", AuditEvent.target_id == str(request.id))
        .order_by(AuditEvent.id)
    ).all()


def pdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


# ------------------------------------------------------------------ months as staff type them

def test_months_are_read_in_every_way_staff_write_them():
    months = reissue_requests.parse_months("令和5年4月〜令和5年6月、R5.10 2023-11，２０２３年１２月 令和5年12月分")
    assert months == [date(2023, 4, 1), date(2023, 5, 1), date(2023, 6, 1), date(2023, 10, 1), NOV, DEC]
    assert reissue_requests.parse_months("平成31年4月 令和元年5月") == [date(2019, 4, 1), date(2019, 5, 1)]
    with pytest.raises(DomainError, match="読み取れません：令和5年13月、きのう"):
        reissue_requests.parse_months("令和5年13月 きのう 2023-12")


# ------------------------------------------------------------------ validation refusals

def test_months_from_2024_01_are_refused_with_the_portal_pdf_guidance(people):
    operator, _ = people
    contract = billed_contract(DEC, JAN)
    with pytest.raises(DomainError) as refused:
        record_request(operator, contract, [DEC, JAN])
    message = refused.value.message
    assert "令和6年1月分はお客さまセンターでは再発行できません" in message
    assert PORTAL_PATH in message and "マイページへの登録をご案内ください" in message
    assert saved_for(contract) == 0
    # A portal customer is only told where the PDF is.
    factories.link(factories.account(), contract, main=True)
    with pytest.raises(DomainError) as refused:
        record_request(operator, contract, [JAN])
    assert PORTAL_PATH in refused.value.message and "登録をご案内" not in refused.value.message


def test_months_without_a_bill_are_refused(people):
    operator, _ = people
    contract = billed_contract(DEC)
    with pytest.raises(DomainError, match="令和5年10月、令和5年11月分の請求はありません"):
        record_request(operator, contract, [date(2023, 10, 1), NOV, DEC])
    assert saved_for(contract) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "reissue.request", AuditEvent.customer_number == contract.customer_number)) == 0


def test_a_month_of_an_open_request_is_refused_until_that_request_is_cancelled(people):
    operator, supervisor = people
    contract = billed_contract(NOV, DEC)
    first = record_request(operator, contract, [NOV, DEC])
    with pytest.raises(DomainError, match=f"令和5年12月分（受付番号 {first.id}・受付）"):
        record_request(operator, contract, [DEC])
    gather(supervisor)
    with pytest.raises(DomainError, match=f"令和5年12月分（受付番号 {first.id}・印刷中）"):
        record_request(operator, contract, [DEC])
    assert saved_for(contract) == 1
    reissue_requests.cancel_reissue(operator, first.id, "印刷がかすれていたため出し直し")
    second = record_request(operator, contract, [DEC])
    assert second.status == ReissueStatus.REQUESTED and [i.period for i in second.items] == [DEC]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"send_to": "other", "other_address": "", "other_address_reason": "入院中"}, "住所を入力"),
        ({"send_to": "other", "other_address": "大阪市中央区1-1", "other_address_reason": " "}, "理由を入力"),
        ({"send_to": "pigeon"}, "送付先を選んで"),
        ({"caller_relation": "neighbour"}, "関係を選んで"),
    ],
)
def test_destination_and_caller_are_required(people, kwargs, message):
    operator, _ = people
    contract = billed_contract(DEC)
    with pytest.raises(DomainError, match=message):
        record_request(operator, contract, [DEC], **kwargs)
    assert saved_for(contract) == 0


def test_no_month_and_no_role_are_refused(people):
    operator, _ = people
    contract = billed_contract(DEC)
    with pytest.raises(DomainError, match="請求月を選ぶか入力"):
        record_request(operator, contract, [])
    with pytest.raises(DomainError, match="オペレーターまたはスーパーバイザー"):
        record_request(factories.staff("disaster_coordinator"), contract, [DEC])


# ------------------------------------------------------------------ statuses

def test_a_request_through_every_status_each_step_audited(people):
    operator, supervisor = people
    contract = billed_contract(NOV, DEC)
    request = record_request(operator, contract, [NOV, DEC])
    assert request.status == ReissueStatus.REQUESTED
    with pytest.raises(DomainError, match="スーパーバイザー"):
        print_batches.gather_print_batch(operator, print_batches.new_manual_batch_key(), clock.now())
    batch = gather(supervisor)
    assert request.status == ReissueStatus.IN_BATCH and request.batch_id == batch.id and batch.built_at
    with pytest.raises(DomainError, match="スーパーバイザー"):
        print_batches.mark_batch_mailed(operator, batch.id)
    assert print_batches.mark_batch_mailed(supervisor, batch.id) == 1
    assert request.status == ReissueStatus.MAILED and request.mailed_at is not None
    with pytest.raises(DomainError, match="発送済にする再発行がありません"):
        print_batches.mark_batch_mailed(supervisor, batch.id)
    with pytest.raises(DomainError, match="取り消せません"):
        reissue_requests.cancel_reissue(operator, request.id, "もう遅い")
    assert actions_for(request) == ["reissue.request", "reissue.batch", "reissue.mailed"]
    batch_events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.target_type == "print_batch", AuditEvent.target_id == str(batch.id))
    ).all()
    assert [e.action for e in batch_events] == ["print_batch.create"]
    assert batch_events[0].detail["requests"] == [request.id]


def test_cancel_needs_a_reason_and_works_from_requested_and_from_a_batch(people):
    operator, supervisor = people
    waiting = record_request(operator, billed_contract(DEC), [DEC])
    printing = record_request(operator, billed_contract(DEC), [DEC])
    batch = gather(supervisor)
    fresh = record_request(operator, billed_contract(DEC), [DEC])
    with pytest.raises(DomainError, match="取消の理由"):
        reissue_requests.cancel_reissue(operator, fresh.id, "  ")
    reissue_requests.cancel_reissue(operator, fresh.id, "お客さまから不要と連絡")
    reissue_requests.cancel_reissue(operator, printing.id, "宛先の誤りが分かったため")
    assert (fresh.status, fresh.cancel_reason) == (ReissueStatus.CANCELLED, "お客さまから不要と連絡")
    assert printing.status == ReissueStatus.CANCELLED and printing.batch_id == batch.id
    cancel = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "reissue.cancel", AuditEvent.target_id == str(printing.id)))
    assert cancel.reason == "宛先の誤りが分かったため"
    assert cancel.detail == {"from": "in_batch", "batch": batch.batch_key}
    # The batch still mails what is left in it.
    assert waiting.status == ReissueStatus.IN_BATCH and print_batches.mark_batch_mailed(supervisor, batch.id) == 1


# ------------------------------------------------------------------ the Excel list

def test_the_batch_excel_reads_back_with_real_dates_numbers_and_safe_cells(people):
    operator, supervisor = people
    plain = billed_contract(NOV, DEC, holder_name="山田 太郎")
    hostile = billed_contract(DEC, holder_name='＝HYPERLINK("http://evil.example/","x")')
    first = record_request(operator, plain, [NOV, DEC])
    second = record_request(operator, hostile, [DEC], send_to="other", other_address="=1+2 大阪市中央区大手前1-1",
                            caller_relation="family", other_address_reason="@SUM(A1) 家族宅へ")
    batch = gather(supervisor)
    book = load_workbook(print_batches.list_path(batch))
    envelopes, details = book["発送リスト"], book["明細"]
    requests = print_batches.batch_requests(batch)
    assert batch.batch_key in envelopes["A1"].value
    assert f"{len(requests)}件・お知らせ票 {sum(len(r.items) for r in requests)}枚" in envelopes["A1"].value
    assert [c.value for c in envelopes[2]] == [
        "No.", "受付番号", "お客さま番号", "宛名", "送付先", "送付先の種別", "再発行する月", "枚数", "受付日", "状態"]
    rows = {row[2]: row for row in envelopes.iter_rows(min_row=3, values_only=True)}
    assert len(rows) == len(requests)
    mine = rows[plain.customer_number]
    assert mine[1] == first.id and mine[3] == "山田 太郎 様"
    assert mine[4] == "大阪市" + plain.usage_location and mine[5] == "使用場所"
    assert mine[6] == "令和5年11月、令和5年12月" and mine[7] == 2
    assert isinstance(mine[8], datetime) and mine[8].date() == first.requested_at.astimezone(TOKYO).date()
    assert mine[9] == "印刷中"
    row = next(r for r in envelopes.iter_rows(min_row=3) if r[2].value == hostile.customer_number)
    addressee, address, kind = row[3], row[4], row[5]
    assert addressee.value == '＝HYPERLINK("http://evil.example/","x") 様' and address.value == "=1+2 大阪市中央区大手前1-1"
    assert kind.value == "指定の送付先（@SUM(A1) 家族宅へ）"
    for cell in (addressee, address):
        assert cell.data_type == "s" and cell.quotePrefix, cell.coordinate
    assert all(cell.data_type != "f" for line in envelopes.iter_rows() for cell in line)
    assert envelopes.freeze_panes == "A3" and envelopes.auto_filter.ref.startswith("A2:J")
    assert envelopes.cell(row=3, column=9).is_date
    assert [c.value for c in details[2]] == [
        "No.", "受付番号", "お客さま番号", "請求月", "契約者（当時）", "使用水量（m³）", "合計金額"]
    lines = [r for r in details.iter_rows(min_row=3, values_only=True) if r[2] == plain.customer_number]
    assert [(r[3], r[4], r[5], r[6]) for r in lines] == [
        (datetime(2023, 11, 1), "山田 太郎", 20, 4620), (datetime(2023, 12, 1), "山田 太郎", 20, 4620)]
    assert second.id in {r[1] for r in details.iter_rows(min_row=3, values_only=True)}


# ------------------------------------------------------------------ the PDF

def test_the_pdf_reproduces_each_notice_with_the_holder_and_payment_of_that_month(people):
    operator, supervisor = people
    contract = factories.contract(holder_name="山田 太郎", holder_kana="ヤマダ タロウ", start_date=date(2020, 4, 1),
                                  payment_method=PaymentMethod.BANK_TRANSFER)
    factories.bill(contract, date(2023, 10, 1))
    factories.bill(contract, NOV, payment_method=PaymentMethod.PAYMENT_NOTICE, usage_m3=23, water_charge=3_080,
                   sewer_charge=2_000)
    factories.bill(contract, DEC)
    change = holders.request_name_change(
        operator, contract, new_holder_name="鈴木 花子", new_holder_kana="スズキ ハナコ", new_holder_kind="person",
        effective_date=date(2023, 12, 1), identity_check="電話で旧契約者に確認",
    )
    holders.approve_name_change(supervisor, change.id)
    assert contract.holder_name == "鈴木 花子"
    request = record_request(operator, contract, [NOV, DEC])
    batch = gather(supervisor)
    cover, november, december = pdf_pages(print_batches.notice_path(batch, request).read_bytes())
    reissued = wareki_date(batch.created_at.astimezone(TOKYO).date())
    # The cover goes to today's holder; each notice shows the holder of its month.
    assert "鈴木 花子 様" in cover and "令和5年11月、令和5年12月（2枚）" in cover
    for page in (november, december):
        assert contract.customer_number in page and "再発行" in page and f"再発行日 {reissued}" in page
        assert "ご使用水量等のお知らせ" in page and "大阪市北区梅田一丁目" in page
    assert "令和5年11月分" in november and "山田 太郎 様" in november and "鈴木" not in november
    assert "令和5年10月10日 〜 令和5年11月9日" in november and "令和5年11月10日" in november
    assert "23 m³" in november and "3,080円" in november and "2,000円" in november and "5,080円" in november
    assert "納入通知書" in november and "口座振替" not in november
    assert "令和5年12月分" in december and "鈴木 花子 様" in december and "山田" not in december
    assert "口座振替" in december


def test_a_month_before_any_bill_of_the_contract_starts_its_period_at_the_start_date(people):
    operator, supervisor = people
    contract = billed_contract(DEC, start_date=date(2023, 11, 20))
    request = record_request(operator, contract, [DEC])
    batch = gather(supervisor)
    _cover, notice = pdf_pages(print_batches.notice_path(batch, request).read_bytes())
    assert "令和5年11月20日 〜 令和5年12月9日" in notice


# ------------------------------------------------------------------ batches built by jobs

def test_the_batch_job_run_twice_gives_the_same_single_batch(people):
    operator, supervisor = people
    request = record_request(operator, billed_contract(DEC), [DEC])
    key = print_batches.new_manual_batch_key()
    cutoff = clock.now().isoformat()
    first = build_print_batch(key, cutoff, supervisor.id)
    pdf = print_batches.notice_path(db.session.get(PrintBatch, first), request)
    original = pdf.read_bytes()
    pdf.unlink()  # as if the first run died after committing the batch
    late = record_request(operator, billed_contract(DEC), [DEC])
    assert build_print_batch(key, clock.now().isoformat(), supervisor.id) == first
    assert db.session.scalar(select(func.count()).select_from(PrintBatch).where(PrintBatch.batch_key == key)) == 1
    assert pdf.read_bytes() == original
    assert request.batch_id == first and late.status == ReissueStatus.REQUESTED
    assert actions_for(request).count("reissue.batch") == 1


def test_nothing_waiting_makes_no_batch(people):
    _operator, supervisor = people
    db.session.execute(update(ReissueRequest).where(ReissueRequest.status == ReissueStatus.REQUESTED)
                       .values(status=ReissueStatus.CANCELLED, cancel_reason="test"))
    key = print_batches.new_manual_batch_key()
    assert build_print_batch(key, clock.now().isoformat(), supervisor.id) is None
    assert db.session.scalar(select(PrintBatch).where(PrintBatch.batch_key == key)) is None
    with pytest.raises(DomainError, match="印刷バッチの指定"):
        print_batches.gather_print_batch(supervisor, "daily-x/../../etc", clock.now())


def test_the_daily_job_queued_twice_on_rq_builds_one_batch_and_schedules_the_next_day(people, rq_queue):
    operator, _ = people
    day = clock.today() - timedelta(days=1)
    request = record_request(operator, billed_contract(DEC), [DEC])
    request.requested_at = print_batches.cutoff_for_day(day) - timedelta(hours=1)
    after_cutoff = record_request(operator, billed_contract(DEC), [DEC])
    after_cutoff.requested_at = print_batches.cutoff_for_day(day) + timedelta(minutes=1)
    db.session.commit()
    rq_queue.enqueue(build_daily_print_batch, day.isoformat(), job_id="daily-first")
    rq_queue.enqueue(build_daily_print_batch, day.isoformat(), job_id="daily-again")
    run_jobs(rq_queue)
    batches = db.session.scalars(select(PrintBatch).where(PrintBatch.batch_key == f"daily-{day.isoformat()}")).all()
    assert len(batches) == 1 and batches[0].created_by_id is None and batches[0].built_at is not None
    assert request.status == ReissueStatus.IN_BATCH and request.batch_id == batches[0].id
    assert after_cutoff.status == ReissueStatus.REQUESTED
    assert print_batches.list_path(batches[0]).exists() and print_batches.notice_path(batches[0], request).exists()
    assert f"print-batch-daily-{next_daily_run().date().isoformat()}" in rq_queue.scheduled_job_registry.get_job_ids()


def test_the_daily_run_is_scheduled_once_per_day(app, rq_queue):
    with app.app_context():
        morning = datetime(2026, 11, 25, 9, 0, tzinfo=TOKYO)
        evening = datetime(2026, 11, 25, 18, 0, tzinfo=TOKYO)
        assert next_daily_run(morning) == datetime(2026, 11, 25, 17, 0, tzinfo=TOKYO)
        assert next_daily_run(evening) == datetime(2026, 11, 26, 17, 0, tzinfo=TOKYO)
        assert schedule_daily_print_batch(morning) == "print-batch-daily-2026-11-25"
        assert schedule_daily_print_batch(morning) == "print-batch-daily-2026-11-25"
        assert rq_queue.scheduled_job_registry.get_job_ids() == ["print-batch-daily-2026-11-25"]


def test_without_redis_nothing_is_scheduled(app):
    with app.app_context():
        assert schedule_daily_print_batch() is None


# ------------------------------------------------------------------ the pages

def test_an_operator_records_a_request_from_the_customer_view(client, login_as):
    operator = login_as("operator")
    contract = billed_contract(date(2023, 10, 1), NOV, DEC, JAN)
    db.session.commit()
    page = client.get(f"/customer/contract/{contract.id}").get_data(as_text=True)
    assert f'href="/reissue/new/{contract.id}"' in page
    form = client.get(f"/reissue/new/{contract.id}").get_data(as_text=True)
    assert 'value="2023-12"' in form and 'value="2024-01"' not in form and PORTAL_PATH in form
    token = csrf_token(client, f"/reissue/new/{contract.id}")
    refused = client.post(f"/reissue/new/{contract.id}", data={
        "csrf_token": token, "month": ["2023-12"], "months_text": "令和6年1月", "send_to": "mailing_address",
        "caller_relation": "holder"})
    assert refused.status_code == 200
    assert PORTAL_PATH in refused.get_data(as_text=True) and saved_for(contract) == 0
    assert 'value="2023-12" id="m2023-12" checked' in refused.get_data(as_text=True)
    response = client.post(f"/reissue/new/{contract.id}", data={
        "csrf_token": token, "month": ["2023-12"], "months_text": "Ｒ５．１０、2023/11", "send_to": "other",
        "other_address": "大阪市中央区大手前２－１－１", "other_address_reason": "入院中のため家族宅へ",
        "caller_relation": "family"})
    assert response.status_code == 302
    request = db.session.scalar(select(ReissueRequest).where(ReissueRequest.contract_id == contract.id))
    assert response.headers["Location"].endswith(f"/reissue/{request.id}")
    assert [i.period for i in request.items] == [date(2023, 10, 1), NOV, DEC]
    assert request.other_address == "大阪市中央区大手前2-1-1" and request.requested_by_id == operator.id
    detail = client.get(f"/reissue/{request.id}").get_data(as_text=True)
    assert "令和5年10月分、令和5年11月分、令和5年12月分（3枚）" in detail and "お知らせ票再発行の受付" in detail
    listing = client.get("/reissue/?status=requested").get_data(as_text=True)
    assert contract.customer_number in listing
    assert client.get("/print-batches/").status_code == 403
    cancelled = client.post(f"/reissue/{request.id}/cancel", data={"csrf_token": token, "reason": "不要になった"})
    db.session.refresh(request)
    assert cancelled.status_code == 302 and request.status == ReissueStatus.CANCELLED
    assert contract.customer_number in client.get("/reissue/?status=cancelled").get_data(as_text=True)


def test_a_supervisor_builds_downloads_and_marks_a_batch_mailed_through_the_pages(client, login_as):
    supervisor = login_as("supervisor")
    operator = factories.staff("operator")
    db.session.execute(update(ReissueRequest).where(ReissueRequest.status == ReissueStatus.REQUESTED)
                       .values(status=ReissueStatus.CANCELLED, cancel_reason="test"))
    contract = billed_contract(DEC)
    request = record_request(operator, contract, [DEC])
    db.session.commit()
    page = client.get("/print-batches/").get_data(as_text=True)
    assert '<strong data-testid="waiting">1</strong>' in page
    key = re.search(r'name="batch_key" value="([^"]+)"', page).group(1)
    token = csrf_token(client, "/print-batches/")
    built = client.post("/print-batches/build", data={"csrf_token": token, "batch_key": key})
    batch = db.session.scalar(select(PrintBatch).where(PrintBatch.batch_key == key))
    assert built.status_code == 302 and built.headers["Location"].endswith(f"/print-batches/{batch.id}")
    again = client.post("/print-batches/build", data={"csrf_token": token, "batch_key": key})
    assert again.headers["Location"] == built.headers["Location"]
    assert client.post("/print-batches/build", data={"csrf_token": token, "batch_key": "daily-2026-11-25"}) \
        .status_code == 302
    assert db.session.scalar(select(PrintBatch).where(PrintBatch.batch_key == "daily-2026-11-25")) is None

    excel = client.get(f"/print-batches/{batch.id}/list.xlsx")
    assert excel.status_code == 200 and excel.mimetype.endswith("spreadsheetml.sheet")
    assert load_workbook(io.BytesIO(excel.data))["発送リスト"]["C3"].value == contract.customer_number
    notice = client.get(f"/print-batches/{batch.id}/requests/{request.id}.pdf")
    assert notice.status_code == 200 and notice.mimetype == "application/pdf"
    assert contract.customer_number in pdf_pages(notice.data)[1]
    bundle = zipfile.ZipFile(io.BytesIO(client.get(f"/print-batches/{batch.id}/notices.zip").data))
    assert bundle.namelist() == [f"001_{contract.customer_number}_{request.id}.pdf"]
    downloads = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "print_batch.download", AuditEvent.staff_id == supervisor.id)).all()
    assert len(downloads) == 3 and any(d.customer_number == contract.customer_number for d in downloads)

    mailed = client.post(f"/print-batches/{batch.id}/mailed", data={"csrf_token": token})
    db.session.refresh(request)
    assert mailed.status_code == 302 and request.status == ReissueStatus.MAILED
    assert "発送済 1" in client.get("/print-batches/").get_data(as_text=True)


def test_a_batch_whose_job_died_before_its_files_is_finished_from_its_page(client, login_as):
    supervisor = login_as("supervisor")
    request = record_request(factories.staff("operator"), billed_contract(DEC), [DEC])
    batch = print_batches.gather_print_batch(supervisor, print_batches.new_manual_batch_key(), clock.now())
    db.session.commit()
    page = client.get(f"/print-batches/{batch.id}").get_data(as_text=True)
    assert "作成し直す" in page and "発送済にする" not in page
    token = csrf_token(client, f"/print-batches/{batch.id}")
    assert client.get(f"/print-batches/{batch.id}/list.xlsx").status_code == 302
    assert client.post(f"/print-batches/{batch.id}/files", data={"csrf_token": token}).status_code == 302
    db.session.refresh(batch)
    assert batch.built_at is not None and print_batches.notice_path(batch, request).exists()
    assert "発送済にする（1件）" in client.get(f"/print-batches/{batch.id}").get_data(as_text=True)


# ------------------------------------------------------------------ two operators at once

def test_two_operators_recording_the_same_month_at_once_get_one_request(app, database_url):
    """The contract row lock: the second operator waits, then sees the first request and is refused."""
    with factories.committed(app):
        first, second = factories.staff("operator"), factories.staff("operator")
        contract = billed_contract(DEC)
        ids = first.id, second.id, contract.id

    def record(actor):
        record_request(actor, db.session.get(Contract, ids[2]), [DEC])
        return "ok"

    outcomes = factories.race(app, {"first": (ids[0], record), "second": (ids[1], record)})
    engine = create_engine(database_url)
    try:
        with Session(engine) as check:
            count = check.execute(text("SELECT count(*) FROM reissue_request WHERE contract_id = :c"),
                                  {"c": ids[2]}).scalar_one()
            # Committed outside the test transaction: leave nothing waiting for other tests' batches.
            check.execute(text("UPDATE reissue_request SET status = 'cancelled', cancel_reason = 'test' "
                               "WHERE contract_id = :c"), {"c": ids[2]})
            check.commit()
    finally:
        engine.dispose()
    assert sorted(v == "ok" for v in outcomes.values()) == [False, True], outcomes
    assert count == 1
    assert "受付済みの再発行があります" in next(v for v in outcomes.values() if v != "ok")
