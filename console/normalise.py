"""Pure functions that normalise what people type, so stored values and typed queries compare equal."""

from __future__ import annotations

import functools
import re
import unicodedata

import jaconv
from ja_itaiji import Itaiji

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


def _hira_to_kata(text: str) -> str:
    """Half-width katakana become full-width (jaconv), then hiragana katakana (jaconv)."""
    return jaconv.hira2kata(jaconv.h2z(text, kana=True, ascii=False, digit=False))


def _jis_level_1(char: str) -> bool:
    """One of JIS X 0208's 2,965 level-1 kanji (rows 16-47): the forms in common use."""
    try:
        encoded = char.encode("euc_jp")
    except UnicodeEncodeError:
        return False
    return len(encoded) == 2 and 0xB0 <= encoded[0] <= 0xCF


# ja-itaiji keeps 斉 (and its old form 齊) apart from 斎 (齋); callers say サイトウ without the form, and
# issue 15 asks that 齊藤 find 斎藤, so the desk treats the four as one name.
_DESK_MERGES = {"斉": "斎"}


@functools.cache
def _variant_table() -> dict[int, str]:
    """str.translate table: each old or variant kanji → its standard form, from ja-itaiji's families.

    A kanji in common use (JIS level 1: 高, 斎, 崎, 沢, 途, 埼 …) is never rewritten, so two standard
    kanji that the table happens to group (澤's family holds both 沢 and 途) stay apart. Any other kanji
    (髙, 齋, 﨑, 澤, 邊, 邉 …) becomes the level-1 member of its family whose family holds it back. When
    there are several: inside the Unified Ideographs block, where code points are ordered by radical, the
    nearest one (澤 → 沢, not 途); outside it (﨑, extension A), the one with the most variants (崎)."""
    families = Itaiji.dictionary
    table: dict[int, str] = {}
    for char, family in families.items():
        # A compatibility ideograph that NFKC rewrites (祐 U+FA1A → 祐 U+7950) never reaches the table:
        # keys are NFKC first. Its family, noisy as the rest, must not decide anything.
        if len(char) != 1 or _jis_level_1(char) or unicodedata.normalize("NFKC", char) != char:
            continue
        standard = [v for v in family if v != char and _jis_level_1(v) and char in families.get(v, ())]
        if not standard:
            continue
        if 0x4E00 <= ord(char) <= 0x9FFF:
            best = min(standard, key=lambda v: (abs(ord(v) - ord(char)), v))
        else:
            best = min(standard, key=lambda v: (-len(families[v]), v))
        table[ord(char)] = _DESK_MERGES.get(best, best)
    table.update({ord(variant): standard for variant, standard in _DESK_MERGES.items()})
    return table


def fold_variants(text: str) -> str:
    """Old and variant kanji → their standard forms (髙橋 → 高橋, 齋藤 → 斎藤, 﨑山 → 崎山, 渡邉 → 渡辺)."""
    return text.translate(_variant_table())


def kanji_variants() -> dict[str, list[str]]:
    """Each standard kanji → the old and variant forms that fold to it (for tests and the README)."""
    variants: dict[str, list[str]] = {}
    for code, standard in _variant_table().items():
        variants.setdefault(standard, []).append(chr(code))
    return variants


def katakana(raw: str | None) -> str:
    """NFKC, hiragana → katakana, runs of spaces → one ASCII space."""
    return _SPACE_RE.sub(" ", _hira_to_kata(nfkc(raw)))


def spelling_key(raw: str | None) -> str:
    """A name as written: katakana, no spaces or middle dots, ASCII lower case, kanji kept as typed. For
    "is this the same name?" on a change of holder, where 高橋 → 髙橋 is a real correction."""
    return _recompose(re.sub(r"[\s・･]", "", _hira_to_kata(nfkc(raw))).lower())


def name_key(raw: str | None) -> str:
    """Matching key for names: the spelling key with old and variant kanji in their standard form.
    Stored keys and typed queries both go through it."""
    return fold_variants(spelling_key(raw))


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
