"""The portal's public FAQ (マイページご利用Q&A, Q1–Q49), read from the copy beside this module, so the
desk sees the same answers the customer reads while a contact is recorded (DESIGN.md, contacts)."""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass
from pathlib import Path

FAQ_FILE = Path(__file__).resolve().parent / "mypage-faq.txt"

_TAG = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"[ \t\u3000]+")


@dataclass(frozen=True)
class Question:
    """One FAQ entry: its number (Q4), its section, the question and the answer as plain text."""

    number: int
    section: str
    title: str
    answer: str


def plain(text: str) -> str:
    """The answer without its HTML: paragraphs and list items on lines of their own."""
    text = re.sub(r"</p>|<br\s*/?>|</li>", "\n", text)
    text = _TAG.sub(" ", text)
    lines = (_SPACES.sub(" ", line).strip() for line in html.unescape(text).splitlines())
    return "\n".join(line for line in lines if line)


@functools.cache
def questions() -> dict[int, Question]:
    """Every question of the FAQ by number."""
    found: dict[int, Question] = {}
    section = ""
    for raw in FAQ_FILE.read_text(encoding="utf-8").splitlines():
        cells = raw.split("\t")
        head = cells[0].strip()
        if head.isdigit() and len(cells) >= 3:
            number = int(head)
            found[number] = Question(number, section, cells[1].strip(), plain(cells[2]))
        elif head.endswith("について") or head.endswith("について</h2>"):
            section = _TAG.sub("", head).removesuffix("について")
    return found
