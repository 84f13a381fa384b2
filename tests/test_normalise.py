"""Normalisation (console/normalise.py): examples, and properties checked by hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console import normalise

FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
DASHES = ["-", "‐", "‑", "‒", "–", "—", "―", "−", "ー", "ｰ", "－", " ", "　", ""]

# Japanese numbers: the trunk 0, then an area or mobile code that never starts with 0.
phone_numbers = st.tuples(st.sampled_from("123456789"), st.text(alphabet="0123456789", min_size=8, max_size=9)).map(
    lambda parts: "0" + parts[0] + parts[1])


@st.composite
def typed_phone(draw, number: str | None = None):
    """A phone number as someone might type it: groups split by any dash or space, maybe full-width."""
    number = number or draw(phone_numbers)
    cuts = sorted(draw(st.sets(st.integers(1, len(number) - 1), max_size=3)))
    parts, last = [], 0
    for cut in cuts:
        parts.append(number[last:cut])
        last = cut
    parts.append(number[last:])
    text = parts[0]
    for part in parts[1:]:
        text += draw(st.sampled_from(DASHES)) + part
    if draw(st.booleans()):
        text = text.translate(FULL_WIDTH_DIGITS)
    if draw(st.booleans()) and len(parts) > 1:
        text = f"({parts[0]}){''.join(parts[1:])}"
    return draw(st.sampled_from(["", " ", "　"])) + text + draw(st.sampled_from(["", " "]))


# --- phones -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["090-1234-5678", "０９０－１２３４－５６７８", "090 1234 5678", "+81 90-1234-5678", "+81 (0)90 1234 5678",
     "81-90-1234-5678", "(090)1234-5678", "０９０ー１２３４ー５６７８", "090‐1234‐5678", " 09012345678 "],
)
def test_phone_examples(typed):
    assert normalise.phone_digits(typed) == "09012345678"


def test_phone_edge_cases():
    assert normalise.phone_digits(None) == ""
    assert normalise.phone_digits("090-1234-5678 ٣") == "09012345678"  # other scripts' digits are not ours
    assert normalise.phone_digits("06-6458-1132") == "0664581132"
    assert normalise.is_mobile("09012345678") and normalise.is_mobile("07012345678")
    assert not normalise.is_mobile("0664581132") and not normalise.is_mobile("0901234567")


@given(st.data())
def test_any_typing_of_a_phone_gives_its_digits(data):
    number = data.draw(phone_numbers)
    assert normalise.phone_digits(data.draw(typed_phone(number))) == number


@given(phone_numbers, st.sampled_from(["+81", "+81 ", "＋８１ ", "+81-", "81-", "+81(0)", "+81 (0) "]))
def test_international_prefix_becomes_zero(number, prefix):
    assert normalise.phone_digits(prefix + number[1:]) == number


@given(st.text())
def test_phone_digits_is_idempotent_and_only_digits(text):
    once = normalise.phone_digits(text)
    assert once == normalise.phone_digits(once)
    assert once == "" or once.isascii() and once.isdigit()


# --- e-mail -------------------------------------------------------------------------------------------


emails = st.from_regex(r"\A[a-z0-9][a-z0-9._+-]{0,20}@[a-z0-9-]{1,15}\.(jp|com|ne\.jp)\Z")


@given(emails)
def test_email_key_ignores_case_width_and_spaces(email):
    full_width = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in email.upper())
    assert normalise.email_key(email.upper()) == email
    assert normalise.email_key(f"  {full_width} ") == email
    assert normalise.email_key(email) == normalise.email_key(normalise.email_key(email))


# --- customer and settlement numbers -----------------------------------------------------------------


customer_numbers = st.from_regex(r"\A[A-Z][0-9]{9}\Z")
settlement_numbers = st.from_regex(r"\A[0-9]{2}[A-Z][0-9]{7}\Z")


def _typed_number(draw, number: str) -> str:
    text = number.lower() if draw(st.booleans()) else number
    if draw(st.booleans()):
        text = "".join(chr(ord(c) + 0xFEE0) for c in text)  # full-width letters and digits
    cut = draw(st.integers(1, len(text) - 1))
    return text[:cut] + draw(st.sampled_from(["", " ", "-", "　", "－"])) + text[cut:]


@given(st.data())
def test_customer_number_however_typed(data):
    number = data.draw(customer_numbers)
    assert normalise.customer_number(_typed_number(data.draw, number)) == number
    assert normalise.settlement_number(number) is None


@given(st.data())
def test_settlement_number_however_typed(data):
    number = data.draw(settlement_numbers)
    assert normalise.settlement_number(_typed_number(data.draw, number)) == number
    assert normalise.customer_number(number) is None


@pytest.mark.parametrize("wrong", ["K01234567", "K0123456789", "0K12345678", "KK12345678", "", None, "Ｋ０１２３４５６７"])
def test_malformed_customer_numbers(wrong):
    assert normalise.customer_number(wrong) is None


def test_number_examples():
    assert normalise.customer_number("k012345678") == "K012345678"
    assert normalise.customer_number("Ｋ０１２３４５６７８") == "K012345678"
    assert normalise.settlement_number("24b 0012345") == "24B0012345"


# --- names --------------------------------------------------------------------------------------------


hiragana = st.text(alphabet=[chr(c) for c in range(0x3041, 0x3094)], min_size=1, max_size=12)


@given(hiragana)
def test_hiragana_and_katakana_give_one_key(text):
    katakana = normalise.katakana(text)
    assert normalise.name_key(text) == normalise.name_key(katakana)
    assert all(0x30A1 <= ord(c) <= 0x30FA for c in katakana)


@given(hiragana, st.sampled_from([" ", "　", "・", "  "]))
def test_name_key_ignores_spaces_and_middle_dots(text, separator):
    middle = len(text) // 2
    assert normalise.name_key(text[:middle] + separator + text[middle:]) == normalise.name_key(text)


@given(st.text(max_size=30))
def test_name_key_is_idempotent(text):
    once = normalise.name_key(text)
    assert normalise.name_key(once) == once


@pytest.mark.parametrize("typed", ["ヤマダ タロウ", "やまだ たろう", "ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ　タロウ", "ヤマダ・タロウ"])
def test_name_examples(typed):
    assert normalise.name_key(typed) == "ヤマダタロウ"


def test_half_width_kana_with_voicing_marks_joins():
    assert normalise.katakana("ｶﾞｯｺｳ") == "ガッコウ"


@pytest.mark.parametrize(
    ("old", "standard"),
    [("髙橋", "高橋"), ("齋藤", "斎藤"), ("齊藤", "斎藤"), ("斉藤", "斎藤"), ("﨑山", "崎山"), ("渡邊", "渡辺"),
     ("渡邉", "渡辺"), ("澤田", "沢田"), ("廣瀬", "広瀬"), ("國分", "国分"), ("眞鍋", "真鍋"), ("濱田", "浜田"),
     ("髙橋　一郎", "高橋 一郎")],
)
def test_old_and_variant_kanji_give_the_standard_key(old, standard):
    assert normalise.name_key(old) == normalise.name_key(standard)


@pytest.mark.parametrize(("first", "second"), [("埼玉", "崎玉"), ("沢田", "途田"), ("浜田", "頻田"), ("田中", "佃中")])
def test_standard_kanji_stay_apart(first, second):
    """Kanji in common use are never rewritten, even where ja-itaiji groups them (澤 lists 沢 and 途)."""
    assert normalise.name_key(first) != normalise.name_key(second)


def test_the_variant_table_comes_from_ja_itaiji():
    from ja_itaiji import Itaiji

    variants = normalise.kanji_variants()
    assert len(variants) > 1000  # thousands of kanji, not a hand-typed list
    for standard, forms in variants.items():
        for form in forms:
            assert standard in Itaiji.get_family(form) or standard == "斎"  # 斉 → 斎 is the desk's own merge
    assert {"髙"} <= set(variants["高"]) and {"齋", "齊", "斉"} <= set(variants["斎"]) and "﨑" in variants["崎"]


@st.composite
def names_with_variants(draw):
    """A name of standard kanji and kana, and the same name with a random subset of its kanji replaced by a
    random variant form from the table."""
    variants = normalise.kanji_variants()
    standards = sorted(variants)
    name = draw(st.lists(st.sampled_from(standards + list("やまだタロウ 一郎子")), min_size=1, max_size=8))
    typed = [draw(st.sampled_from(variants[c])) if c in variants and draw(st.booleans()) else c for c in name]
    return "".join(name), "".join(typed)


@given(names_with_variants())
def test_any_variant_spelling_gives_the_same_key(pair):
    name, typed = pair
    assert normalise.name_key(typed) == normalise.name_key(name)


def test_kana_conversion_is_jaconv():
    assert normalise.katakana("ゔぁいおりん ゝゞ") == "ヴァイオリン ヽヾ"
    assert normalise.name_key("ｻｲﾄｳ ｹｲｺ") == normalise.name_key("さいとう けいこ") == "サイトウケイコ"


# --- addresses ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["北区梅田一丁目2番3号", "北区梅田1丁目2番3号", "北区梅田1-2-3", "北区梅田１－２－３", "大阪市北区梅田1-2-3",
     "大阪府大阪市北区梅田１丁目２番地３", "北区 梅田 1‐2‐3", "北区梅田1ー2ー3"],
)
def test_address_examples(typed):
    assert normalise.address_key(typed) == "北区梅田1-2-3"


def test_katakana_long_vowel_between_letters_stays():
    assert normalise.address_key("北区梅田1-2-3 ハイツー") == "北区梅田1-2-3ハイツー"


@given(st.integers(1, 29), st.integers(1, 99), st.integers(1, 99))
@settings(max_examples=200)
def test_kanji_chome_banchi_go_equal_dashes(chome, banchi, go):
    tens, ones = divmod(chome, 10)
    kanji = ("" if tens == 0 else ("" if tens == 1 else "一二三四五六七八九"[tens - 1]) + "十") + (
        "" if ones == 0 else "一二三四五六七八九"[ones - 1])
    expected = f"中央区本町{chome}-{banchi}-{go}"
    assert normalise.address_key(f"中央区本町{kanji}丁目{banchi}番{go}号") == expected
    assert normalise.address_key(f"中央区本町{chome}丁目{banchi}番地{go}") == expected
    assert normalise.address_key(f"大阪市中央区本町{chome}-{banchi}-{go}".translate(FULL_WIDTH_DIGITS)) == expected


@given(st.text(max_size=40))
def test_address_key_is_idempotent(text):
    once = normalise.address_key(text)
    assert normalise.address_key(once) == once


def test_every_variant_in_the_table_folds_to_its_standard():
    """Exhaustive beside the property test above: no entry of the table is undone by NFKC first (a
    compatibility ideograph such as 祐 U+FA1A becomes 祐 U+7950 before folding)."""
    unfolded = [(standard, form) for standard, forms in normalise.kanji_variants().items() for form in forms
                if normalise.name_key(form) != normalise.name_key(standard)]
    assert unfolded == []
