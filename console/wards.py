"""Osaka City's 24 wards with their JIS X 0402 codes (DESIGN.md, Formats)."""

CITY_CODE = "271004"
CITY_NAME = "大阪市"

# Ordered as the city lists them; the code is the stable identifier stored everywhere.
WARDS: dict[str, str] = {
    "27102": "都島区",
    "27103": "福島区",
    "27104": "此花区",
    "27106": "西区",
    "27107": "港区",
    "27108": "大正区",
    "27109": "天王寺区",
    "27111": "浪速区",
    "27113": "西淀川区",
    "27114": "東淀川区",
    "27115": "東成区",
    "27116": "生野区",
    "27117": "旭区",
    "27118": "城東区",
    "27119": "阿倍野区",
    "27120": "住吉区",
    "27121": "東住吉区",
    "27122": "西成区",
    "27123": "淀川区",
    "27124": "鶴見区",
    "27125": "住之江区",
    "27126": "平野区",
    "27127": "北区",
    "27128": "中央区",
}

WARD_CODES_BY_NAME: dict[str, str] = {name: code for code, name in WARDS.items()}


def ward_name(code: str | None) -> str:
    """The ward's Japanese name for a code, or the code itself when unknown."""
    return WARDS.get(code or "", code or "")


def ward_choices() -> list[tuple[str, str]]:
    """(code, name) pairs for a select field."""
    return list(WARDS.items())
