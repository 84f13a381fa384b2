"""What supervisors learn from the desk's memory (issue 14): contacts per category per day, follow-ups
opened, closed and overdue per day, and the FAQ questions behind the most contacts. Counted by the
database (GROUP BY on indexed columns), so the figures cost the same whatever the table's size; a
contact corrected by a later one is counted once, as its correction."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, literal_column, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from .. import clock
from ..clock import TOKYO
from ..extensions import db
from ..models import Contact, ContactCategory, ContactCategoryQuestion, ContactDayCount, FollowUp


def day_start(day: date) -> datetime:
    """Japan midnight at the start of day."""
    return datetime.combine(day, time(0), tzinfo=TOKYO)


def days_between(first: date, last: date) -> list[date]:
    """Every day from first to last, both included."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _japan_day(column):
    # The Japan date of a stored UTC instant, computed by the database.
    if db.session.get_bind().dialect.name == "postgresql":
        # A literal, not a bound parameter: GROUP BY must repeat the very expression of the SELECT.
        return func.date(func.timezone(literal_column("'Asia/Tokyo'"), column))
    return func.date(column, literal_column("'+9 hours'"))


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _current(since: datetime):
    # Not corrected by a later contact: a correction replaces what it corrects in every count. A correction
    # comes after what it corrects, so only the corrections since the period began are looked at.
    later = aliased(Contact)
    return Contact.id.not_in(select(later.corrects_id).where(later.corrects_id.is_not(None), later.at >= since))


@dataclass
class CategoryDays:
    """Contacts per category per day: categories in their order, counts[(day, category id)]."""

    days: list[date]
    categories: list[ContactCategory]
    counts: dict[tuple[date, int], int]

    def total(self, category_id: int) -> int:
        """All days of one category."""
        return sum(n for (_, c), n in self.counts.items() if c == category_id)

    def day_total(self, day: date) -> int:
        """All categories of one day."""
        return sum(n for (d, _), n in self.counts.items() if d == day)


def _counted(first: date, last: date) -> dict[tuple[date, int], int]:
    """Contacts of each category on each Japan day from first to last, counted from the contacts."""
    day = _japan_day(Contact.at)
    rows = db.session.execute(
        select(day, Contact.category_id, func.count())
        .where(Contact.at >= day_start(first), Contact.at < day_start(last + timedelta(days=1)),
               _current(day_start(first)))
        .group_by(day, Contact.category_id)
    ).all()
    return {(_as_date(d), category_id): n for d, category_id, n in rows}


# A day's counts are kept once it has been over this long: a contact recorded at 23:59:59 may commit a
# moment after midnight, and a day counted before that would miss it for good.
DAY_SETTLES = timedelta(minutes=10)


def _closed_days(first: date, last: date) -> dict[tuple[date, int], int]:
    """The same for days that have ended: from their stored counts, counting (once) the days not stored yet."""
    stored = {row.day: row.counts for row in db.session.scalars(
        select(ContactDayCount).where(ContactDayCount.day >= first, ContactDayCount.day <= last))}
    missing = [d for d in days_between(first, last) if d not in stored]
    if missing:
        fresh = _counted(missing[0], missing[-1])
        rows = [ContactDayCount(day=d, counts={str(c): n for (day, c), n in fresh.items() if day == d})
                for d in missing]
        try:
            with db.session.begin_nested():  # another request may have stored the same days meanwhile
                db.session.add_all(rows)
        except IntegrityError:
            pass
        stored.update({row.day: row.counts for row in rows})
    return {(d, int(c)): n for d, counts in stored.items() for c, n in counts.items()}


def contacts_per_category_per_day(first: date, last: date) -> CategoryDays:
    """Contacts of each category on each Japan day from first to last: closed days from their stored counts
    (ContactDayCount), today and later counted from the contacts, so the cost follows the days shown, not
    the contacts behind them."""
    live_from = (clock.now() - DAY_SETTLES).date()  # today; yesterday too in a day's first minutes
    counts: dict[tuple[date, int], int] = {}
    if first < live_from:
        counts.update(_closed_days(first, min(last, live_from - timedelta(days=1))))
    if last >= live_from:
        counts.update(_counted(max(first, live_from), last))
    used = {category_id for _, category_id in counts}
    categories = [c for c in db.session.scalars(select(ContactCategory).order_by(ContactCategory.sort_order,
                                                                                 ContactCategory.id))
                  if c.retired_at is None or c.id in used]
    return CategoryDays(days_between(first, last), categories, counts)


@dataclass
class FollowUpDay:
    """One day's follow-ups: promised, closed, and still open past their due date at the day's end."""

    day: date
    opened: int
    closed: int
    overdue: int


def follow_ups_per_day(first: date, last: date) -> list[FollowUpDay]:
    """Follow-ups opened, closed and overdue (at each day's end) from first to last."""
    start, end = day_start(first), day_start(last + timedelta(days=1))
    opened = defaultdict(int, {_as_date(d): n for d, n in db.session.execute(
        select(_japan_day(FollowUp.created_at), func.count()).where(FollowUp.created_at >= start,
                                                                    FollowUp.created_at < end)
        .group_by(_japan_day(FollowUp.created_at))).all()})
    closed = defaultdict(int, {_as_date(d): n for d, n in db.session.execute(
        select(_japan_day(FollowUp.closed_at), func.count()).where(FollowUp.closed_at >= start,
                                                                   FollowUp.closed_at < end)
        .group_by(_japan_day(FollowUp.closed_at))).all()})
    # Overdue at the end of day d: due before d, promised by then, not closed by then. One grouped query
    # gives every candidate's (due date, day promised, day closed); each counts from the later of the day
    # after its due date and the day it was promised, until the day it was closed.
    created_day, closed_day = _japan_day(FollowUp.created_at), _japan_day(FollowUp.closed_at)
    candidates = db.session.execute(
        select(FollowUp.due_date, created_day, closed_day, func.count())
        .where(FollowUp.due_date < last, FollowUp.created_at < end,
               or_(FollowUp.closed_at.is_(None), FollowUp.closed_at >= start))
        .group_by(FollowUp.due_date, created_day, closed_day)
    ).all()
    change: dict[date, int] = defaultdict(int)
    for due, promised, done, n in candidates:
        begin = max(_as_date(due) + timedelta(days=1), _as_date(promised), first)
        stop = _as_date(done) if done is not None else None
        if stop is not None and stop <= begin:
            continue
        change[begin] += n
        if stop is not None:
            change[stop] -= n
    out, overdue = [], 0
    for day in days_between(first, last):
        overdue += change.get(day, 0)
        out.append(FollowUpDay(day, opened[day], closed[day], overdue))
    return out


@dataclass
class QuestionCount:
    """A portal FAQ question and how many contacts were in a category that covers it."""

    number: int
    title: str
    contacts: int


def top_faq_questions(first: date, last: date, limit: int = 10) -> list[QuestionCount]:
    """The FAQ questions behind the most contacts from first to last (through their categories)."""
    count = func.count(Contact.id)
    rows = db.session.execute(
        select(ContactCategoryQuestion.number, func.min(ContactCategoryQuestion.title), count)
        .join(Contact, and_(Contact.category_id == ContactCategoryQuestion.category_id,
                            Contact.at >= day_start(first), Contact.at < day_start(last + timedelta(days=1))))
        .where(_current(day_start(first)))
        .group_by(ContactCategoryQuestion.number)
        .order_by(count.desc(), ContactCategoryQuestion.number)
        .limit(limit)
    ).all()
    return [QuestionCount(number, title, n) for number, title, n in rows]
