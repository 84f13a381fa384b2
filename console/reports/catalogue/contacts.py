"""応対履歴: the period's contacts (no memos), contacts per category per day, follow-ups opened, closed and
overdue per day, and the FAQ questions behind the most contacts (issue 14)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from sqlalchemy import select

from ...models import (
    CallerRelation,
    Contact,
    ContactCategory,
    ContactChannel,
    ContactDirection,
    Contract,
    Staff,
)
from ..contact_figures import contacts_per_category_per_day, follow_ups_per_day, top_faq_questions
from ..excel import Chart, Col, SummarySheet
from .base import AT, CUSTOMER_NUMBER, STAFF, QueryReport, local, stream


class ContactsReport(QueryReport):
    """The period's contacts by category, with follow-ups and the FAQ questions behind them."""

    key = "contacts"
    title = "応対履歴"
    description = ("期間中の応対（メモを除く）、分類別・日別の件数、対応待ちの登録・完了・期限超過の日別件数、"
                   "応対の多かったFAQの質問（グラフ付き）。")
    sheet_title = "応対一覧"
    personal_data = True
    columns = [
        Col("応対番号", "int"),
        AT,
        CUSTOMER_NUMBER,
        Col("分類", width=20),
        Col("方法", width=8),
        Col("受発信", width=8),
        Col("相手", width=10),
        Col("結果", width=40),
        STAFF,
        Col("訂正元の応対番号", "int"),
    ]

    def statement(self):
        return self.in_period(
            select(Contact.id, Contact.at, Contract.customer_number, ContactCategory.name, Contact.channel,
                   Contact.direction, Contact.caller_relation, Contact.outcome, Staff.name, Contact.corrects_id)
            .join(ContactCategory, ContactCategory.id == Contact.category_id)
            .join(Staff, Staff.id == Contact.staff_id)
            .outerjoin(Contract, Contract.id == Contact.contract_id),
            Contact.at, Contact.id,
        )

    def rows(self) -> Iterator[tuple]:
        for ident, at, number, category, channel, direction, relation, outcome, staff, corrects in stream(
                self.statement()):
            yield (ident, local(at), number or "（未特定）", category, ContactChannel.label_of(channel),
                   ContactDirection.label_of(direction), CallerRelation.label_of(relation), outcome, staff, corrects)

    def summaries(self) -> list[SummarySheet]:
        first, last = date.fromisoformat(self.values["start"]), date.fromisoformat(self.values["end"])
        by_category = contacts_per_category_per_day(first, last)
        categories = by_category.categories
        follow_ups = follow_ups_per_day(first, last)
        questions = top_faq_questions(first, last, limit=20)
        return [
            SummarySheet(
                "分類別・日別",
                [Col("日付", "date"), *(Col(c.name, "int") for c in categories), Col("合計", "int")],
                [(day, *(by_category.counts.get((day, c.id), 0) for c in categories), by_category.day_total(day))
                 for day in by_category.days],
                Chart("分類別・日別の応対件数", series_columns=tuple(range(2, len(categories) + 2)), stacked=True,
                      y_title="件数"),
            ),
            SummarySheet(
                "対応待ち",
                [Col("日付", "date"), Col("登録", "int"), Col("完了", "int"), Col("期限超過（日末）", "int")],
                [(d.day, d.opened, d.closed, d.overdue) for d in follow_ups],
                Chart("対応待ちの登録・完了・期限超過", series_columns=(2, 3, 4), y_title="件数"),
            ),
            SummarySheet(
                "FAQの質問別",
                [Col("質問番号", "int"), Col("質問", width=60), Col("応対件数", "int")],
                [(q.number, q.title, q.contacts) for q in questions],
            ),
        ]

