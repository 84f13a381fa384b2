"""Contact categories (応対分類) as data an admin extends (issue 14): each with a stable code, a name, its
place in the list and the portal FAQ questions it covers; a retired one stays on old contacts."""

from __future__ import annotations

import re

from sqlalchemy import select

from .. import clock, faq, normalise
from ..extensions import db
from ..models import ContactCategory, ContactCategoryQuestion, Staff
from . import DomainError
from .audit import record
from .inputs import require_text
from .permissions import ADMINS, requires

CODE_RE = re.compile(r"[a-z][a-z0-9_]{1,39}")


def parse_question_numbers(raw: str) -> list[int]:
    """"4, 16-18 Q45" → [4, 16, 17, 18, 45]: the FAQ questions a category covers; unknown numbers refused."""
    text = normalise.nfkc(raw).upper().replace("Q", " ")
    numbers: set[int] = set()
    for part in re.split(r"[\s,、]+", text):
        if not part:
            continue
        match = re.fullmatch(r"(\d{1,3})(?:[-~〜](\d{1,3}))?", part)
        if match is None:
            raise DomainError(f"FAQの質問番号「{part}」が読めません。例：4, 16-18", field="questions")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        numbers.update(range(first, last + 1))
    known = faq.questions()
    unknown = sorted(n for n in numbers if n not in known)
    if unknown:
        raise DomainError(f"FAQにない質問番号です：{', '.join(map(str, unknown))}（Q1〜Q{max(known)}）。", field="questions")
    return sorted(numbers)


def _set_questions(category: ContactCategory, numbers: list[int]) -> None:
    known = faq.questions()
    if category.id is not None and category.questions:
        # The unit of work inserts before it deletes: drop the old rows first, or a kept number collides.
        category.questions = []
        db.session.flush()
    category.questions = [ContactCategoryQuestion(number=n, title=known[n].title[:200]) for n in numbers]


def _sort_order(raw: str) -> int:
    raw = normalise.nfkc(raw) or "100"
    if not raw.isdigit() or int(raw) > 9999:
        raise DomainError("表示順は0〜9999の数字で入力してください。", field="sort_order")
    return int(raw)


@requires(ADMINS)
def create_category(actor: Staff, *, code: str, name: str, questions: str = "", sort_order: str = "") -> ContactCategory:
    """Add a category; its code is fixed for good (other pages link with it)."""
    code = normalise.nfkc(code).lower()
    if not CODE_RE.fullmatch(code):
        raise DomainError("コードは英小文字で始まる2〜40文字の英小文字・数字・_で入力してください（例：water_quality）。",
                          field="code")
    if db.session.scalar(select(ContactCategory.id).where(ContactCategory.code == code)) is not None:
        raise DomainError(f"コード「{code}」の分類はすでにあります。", field="code")
    category = ContactCategory(code=code, name=require_text(name, column=ContactCategory.name, label="分類名"),
                               sort_order=_sort_order(sort_order))
    _set_questions(category, parse_question_numbers(questions))
    db.session.add(category)
    db.session.flush()
    record(actor, "contact_category.create", target=category, detail={"code": code, "name": category.name,
                                                                       "questions": [q.number for q in category.questions]})
    return category


@requires(ADMINS)
def update_category(actor: Staff, category_id: int, *, name: str, questions: str = "", sort_order: str = "",
                    retired: bool = False) -> ContactCategory:
    """Rename a category, change its FAQ questions or its place, retire it or bring it back."""
    category = db.session.get(ContactCategory, category_id)
    if category is None:
        raise DomainError("応対分類が見つかりません。")
    name = require_text(name, column=ContactCategory.name, label="分類名")
    numbers = parse_question_numbers(questions)
    order = _sort_order(sort_order)
    category.name = name
    category.sort_order = order
    _set_questions(category, numbers)
    if retired and category.retired_at is None:
        category.retired_at = clock.now()
    elif not retired:
        category.retired_at = None
    db.session.flush()
    record(actor, "contact_category.update", target=category,
           detail={"name": name, "questions": numbers, "retired": retired})
    return category
