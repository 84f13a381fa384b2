"""Pure functions that normalise what people type, so stored values and typed queries compare equal."""

from __future__ import annotations

import re
import unicodedata

CUSTOMER_NUMBER_RE = re.compile(r"[A-Z][0-9]{9}")
SETTLEMENT_NUMBER_RE = re.compile(r"[0-9]{2}[A-Z][0-9]{7}")

# Every dash people (and IMEs) produce; after NFKC most of these survive as distinct code points.
_DASHES = "\u002d\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70\uff0d\u2043\ufe63\u02d7"
_DASH_RE = re.compile(f"[{re.escape(_DASHES)}]")
_SPACE_RE = re.compile(r"\s+")
_KANJI_DIGITS = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def nfkc(text: str | None) -> str:
    """NFKC and strip; None becomes ""."""
    return unicodedata.normalize("NFKC", text or "").strip()


def phone_digits(raw: str | None) -> str:
    """Digits only; +81 / 81- prefixes become 0 (+81 (0)90… too)."""
    text = nfkc(raw)
    match = re.match(r"^\+\s*81[\s\-()]*(?:\(?0\)?)?|^81[\s\-]+(?:\(?0\)?)?", _DASH_RE.sub("-", text))
    if match:
        text = "0" + text[match.end():]
    return re.sub(r"[^0-9]", "", text)  # ASCII only: \D would also keep other scripts' digits


def is_mobile(digits: str) -> bool:
    """An 11-digit 060/070/080/090 number."""
    return bool(re.fullmatch(r"0[6789]0[0-9]{8}", digits or ""))


def _recompose(text: str) -> str:
    """NFKC again: removing spaces or changing case can leave combining marks that now compose."""
    return unicodedata.normalize("NFKC", text)


def email_key(raw: str | None) -> str:
    """NFKC, no whitespace, lower case."""
    return _recompose(_SPACE_RE.sub("", nfkc(raw)).lower())


def compact(raw: str | None) -> str:
    """NFKC, no whitespace or dashes, ASCII letters upper-cased."""
    return _recompose(_DASH_RE.sub("", _SPACE_RE.sub("", nfkc(raw))).upper())


def customer_number(raw: str | None) -> str | None:
    """The canonical customer number, or None."""
    value = compact(raw)
    return value if CUSTOMER_NUMBER_RE.fullmatch(value) else None


def settlement_number(raw: str | None) -> str | None:
    """The canonical settlement number, or None."""
    value = compact(raw)
    return value if SETTLEMENT_NUMBER_RE.fullmatch(value) else None


_HIRA_TO_KATA = {code: code + 0x60 for code in [*range(0x3041, 0x3097), ord("ゝ"), ord("ゞ")]}


def _hira_to_kata(text: str) -> str:
    return text.translate(_HIRA_TO_KATA)


def katakana(raw: str | None) -> str:
    """NFKC, hiragana → katakana, runs of spaces → one ASCII space."""
    return _SPACE_RE.sub(" ", _hira_to_kata(nfkc(raw)))


def name_key(raw: str | None) -> str:
    """Matching key for names: katakana, no spaces or middle dots, ASCII lower case."""
    return _recompose(re.sub(r"[\s・･]", "", _hira_to_kata(nfkc(raw))).lower())


def _kanji_number(text: str) -> int:
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_KANJI_DIGITS.get(tens, 1) if tens else 1) * 10 + (_KANJI_DIGITS.get(ones, 0) if ones else 0)
    return int("".join(str(_KANJI_DIGITS[c]) for c in text))


_PREFECTURE_CITY_RE = re.compile(r"^(大阪府)?(大阪市)?")
_KANJI_CHOME_RE = re.compile(r"([〇一二三四五六七八九十]+)丁目")
_CHOME_RE = re.compile(r"(\d+)丁目")
_BANCHI_RE = re.compile(r"(\d+)番地?")
_GO_RE = re.compile(r"(\d+)号(?!室)")
_DASH_AFTER_DIGIT_RE = re.compile(rf"(?<=[\d\-])[{re.escape(_DASHES)}]")
_HYPHEN_LIKE = "\u002d\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d"
_HYPHEN_RE = re.compile(f"[{re.escape(_HYPHEN_LIKE)}]")
_REPEATED_DASH_RE = re.compile(r"-{2,}")


def address_key(raw: str | None) -> str:
    """Matching key for addresses: 梅田一丁目2番3号 → 梅田1-2-3."""
    text = _SPACE_RE.sub("", nfkc(raw))
    text = _PREFECTURE_CITY_RE.sub("", text)
    text = _KANJI_CHOME_RE.sub(lambda m: f"{_kanji_number(m.group(1))}丁目", text)
    text = _CHOME_RE.sub(r"\1-", text)
    text = _BANCHI_RE.sub(r"\1-", text)
    text = _GO_RE.sub(r"\1", text)
    text = _DASH_AFTER_DIGIT_RE.sub("-", text)
    # Other hyphen forms become "-"; a katakana ー between letters (ハイツー) stays.
    text = _HYPHEN_RE.sub("-", text)
    text = _REPEATED_DASH_RE.sub("-", text)
    return _recompose(text).rstrip("-")
