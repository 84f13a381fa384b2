"""Pure generators for contracts, people and places; demo and city loads share them."""

from __future__ import annotations

import random
from datetime import date, timedelta

from .. import normalise
from ..models.contract import usage_address_text
from ..wards import WARDS
from .data import BUILDING_PATTERNS, COMPANY_STEMS, GIVEN_NAMES, KANJI_NUMBERS, SURNAMES, TOWNS

# Customer numbers start with a letter (Q4); I and O are avoided so they are not read as 1 and 0.
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
WARD_CODES = list(WARDS)


def customer_number(index: int) -> str:
    """A unique customer number for a generated contract index (< 10^9)."""
    return f"{LETTERS[index % len(LETTERS)]}{index:09d}"


def settlement_number(index: int, year: int) -> str:
    """A unique settlement number for a generated contract index (< 10^7)."""
    return f"{year % 100:02d}{LETTERS[(index // len(LETTERS)) % len(LETTERS)]}{index % 10_000_000:07d}"


def person(rng: random.Random) -> tuple[str, str]:
    """A person's name and its katakana reading."""
    (surname, surname_kana), (given, given_kana) = rng.choice(SURNAMES), rng.choice(GIVEN_NAMES)
    return f"{surname} {given}", f"{surname_kana} {given_kana}"


def company(rng: random.Random) -> tuple[str, str]:
    """A building management company's name and reading."""
    stem, kana = rng.choice(COMPANY_STEMS)
    return f"株式会社{stem}", f"カブシキガイシャ{kana}"


def place(rng: random.Random, ward_code: str | None = None, *, building_share: float = 0.4) -> dict:
    """A usage location: ward, town with 丁目, address line, optional building and room."""
    ward_code = ward_code or rng.choice(WARD_CODES)
    towns, _centre = TOWNS[ward_code]
    town = f"{rng.choice(towns)}{rng.choice(KANJI_NUMBERS)}丁目"
    values = {
        "ward_code": ward_code,
        "town": town,
        "address_line": f"{rng.randint(1, 30)}-{rng.randint(1, 25)}",
        "building": None,
        "room": None,
    }
    if rng.random() < building_share:
        pattern = rng.choice(BUILDING_PATTERNS)
        values["building"] = pattern.format(town=town[:-3], surname=rng.choice(SURNAMES)[0])
        values["room"] = f"{rng.randint(1, 12)}{rng.randint(1, 15):02d}号室"
    return values


def landline(rng: random.Random) -> str:
    """An Osaka landline (06-xxxx-xxxx)."""
    return f"06-{rng.randint(6000, 7999)}-{rng.randint(0, 9999):04d}"


def mobile(rng: random.Random) -> str:
    """A mobile number (070/080/090)."""
    return f"0{rng.choice('789')}0-{rng.randint(1000, 9999)}-{rng.randint(0, 9999):04d}"


def charges(usage_m3: int) -> tuple[int, int]:
    """Water and sewer charges in yen for a month's usage (a simplified block tariff)."""
    water = 850 + 20 * min(usage_m3, 10) + 140 * max(usage_m3 - 10, 0)
    sewer = 560 + 120 * max(usage_m3 - 10, 0)
    return water, sewer


# The same tariff for bills generated in SQL (city scale); keep the two in step.
CHARGES_SQL = (
    "850 + 20 * least(u, 10) + 140 * greatest(u - 10, 0)",
    "560 + 120 * greatest(u - 10, 0)",
)


def contract_values(rng: random.Random, index: int, today: date, *, holder=None, location=None,
                    kind: str = "person") -> dict:
    """Every column of a generated contract, lookup keys included (as the models compute them)."""
    name, kana = holder or (person(rng) if kind == "person" else company(rng))
    location = location or place(rng)
    start = today - timedelta(days=rng.randint(200, 20 * 365))
    phone = mobile(rng) if rng.random() < 0.45 else landline(rng)
    method = rng.choices(["bank_transfer", "payment_notice", "e_payment"], weights=[70, 22, 8])[0]
    values = {
        "customer_number": customer_number(index),
        "settlement_number": settlement_number(index, start.year),
        "holder_name": name,
        "holder_kana": kana,
        "holder_kind": kind,
        "contract_phone": phone,
        "payment_method": method,
        "bank_last4": f"{rng.randint(0, 9999):04d}" if method == "bank_transfer" else None,
        "meter_reading_day": rng.randint(1, 28),
        "start_date": start,
        "stop_date": None,
        "mailing_address": None,
        **location,
    }
    values["holder_name_key"] = normalise.name_key(name)
    values["holder_kana_key"] = normalise.name_key(kana)
    values["contract_phone_digits"] = normalise.phone_digits(phone) or None
    values["usage_address_key"] = normalise.address_key(
        usage_address_text(WARDS[location["ward_code"]], location["town"], location["address_line"],
                           location["building"], location["room"])
    )
    return values
