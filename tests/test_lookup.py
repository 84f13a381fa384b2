"""Lookup (issue 3): every messy input form, every matching field, ranking, the cap, the screen pop."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from console.extensions import db
from console.models import AuditEvent
from console.services import lookup
from tests import factories


@pytest.fixture()
def operator(database):
    return factories.staff("operator")


@pytest.fixture()
def yamada(database):
    """A person with a landline contract, linked to a portal account with a mobile number."""
    contract = factories.contract(
        customer_number="K012345678", settlement_number="24B0012345", holder_name="山田 太郎",
        holder_kana="ヤマダ タロウ", contract_phone="06-6458-1132", town="梅田一丁目", address_line="2-3",
    )
    account = factories.account(
        email="Yamada.Taro@Example.JP", name="山田 太郎", name_kana="ヤマダ タロウ", sms_phone="090-1234-5678"
    )
    factories.link(account, contract, main=True)
    return contract, account


def _found(result, kind, row_id):
    return next((h for h in result.hits if h.kind == kind and h.id == row_id), None)


@pytest.mark.parametrize(
    "typed",
    ["０９０－１２３４－５６７８", "090 1234 5678", "+81 90-1234-5678", "09012345678", "090‐1234‐5678", "(090)1234-5678"],
)
def test_sms_phone_in_any_form(operator, yamada, typed):
    _, account = yamada
    hit = _found(lookup.search(operator, typed), "account", account.id)
    assert hit and hit.matches[0].field == "sms_phone" and hit.matches[0].how == "exact"


@pytest.mark.parametrize("typed", ["06-6458-1132", "０６（６４５８）１１３２", "+81 6 6458 1132"])
def test_contract_phone_in_any_form(operator, yamada, typed):
    contract, _ = yamada
    hit = _found(lookup.search(operator, typed), "contract", contract.id)
    assert hit and hit.matches == [lookup.Match("contract_phone", "exact")]


def test_partial_phone(operator, yamada):
    contract, account = yamada
    result = lookup.search(operator, "5678")
    assert _found(result, "account", account.id).matches == [lookup.Match("sms_phone", "partial")]
    result = lookup.search(operator, "066458")
    assert _found(result, "contract", contract.id).matches == [lookup.Match("contract_phone", "prefix")]


@pytest.mark.parametrize("typed", ["yamada.taro@example.jp", "YAMADA.TARO@EXAMPLE.JP", "ｙａｍａｄａ．ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ"])
def test_email(operator, yamada, typed):
    _, account = yamada
    assert _found(lookup.search(operator, typed), "account", account.id).matches == [lookup.Match("email", "exact")]


def test_email_prefix(operator, yamada):
    _, account = yamada
    assert _found(lookup.search(operator, "yamada.taro@"), "account", account.id).matches[0].how == "prefix"


@pytest.mark.parametrize("typed", ["K012345678", "k012345678", "ｋ０１２３４５６７８", "K012-345-678", "k 0123 45678"])
def test_customer_number(operator, yamada, typed):
    contract, _ = yamada
    hit = _found(lookup.search(operator, typed), "contract", contract.id)
    assert hit.matches == [lookup.Match("customer_number", "exact")]


def test_customer_number_prefix(operator, yamada):
    contract, _ = yamada
    hit = _found(lookup.search(operator, "k01234"), "contract", contract.id)
    assert hit.matches == [lookup.Match("customer_number", "prefix")]


@pytest.mark.parametrize("typed", ["24B0012345", "24b0012345", "２４Ｂ００１２３４５"])
def test_settlement_number(operator, yamada, typed):
    contract, _ = yamada
    hit = _found(lookup.search(operator, typed), "contract", contract.id)
    assert hit.matches == [lookup.Match("settlement_number", "exact")]


@pytest.mark.parametrize(
    "typed, fields",
    [
        ("ヤマダ タロウ", {"holder_kana", "account_kana"}),
        ("やまだ　たろう", {"holder_kana", "account_kana"}),
        ("ﾔﾏﾀﾞ ﾀﾛｳ", {"holder_kana", "account_kana"}),
        ("山田太郎", {"holder_name", "account_name"}),
        ("山田　太郎", {"holder_name", "account_name"}),
    ],
)
def test_names_in_kanji_and_kana(operator, yamada, typed, fields):
    contract, account = yamada
    result = lookup.search(operator, typed)
    contract_hit, account_hit = _found(result, "contract", contract.id), _found(result, "account", account.id)
    assert {m.field for m in contract_hit.matches + account_hit.matches} == fields
    assert all(m.how == "exact" for m in contract_hit.matches + account_hit.matches)


@pytest.mark.parametrize("typed, how", [("やまだ", "prefix"), ("ﾔﾏﾀﾞ", "prefix"), ("タロウ", "partial")])
def test_partial_names(operator, yamada, typed, how):
    contract, _ = yamada
    assert _found(lookup.search(operator, typed), "contract", contract.id).matches[0].how == how


@pytest.mark.parametrize("typed", ["梅田一丁目2番3号", "北区梅田1-2-3", "大阪市北区梅田１丁目２－３"])
def test_address(operator, yamada, typed):
    contract, _ = yamada
    hit = _found(lookup.search(operator, typed), "contract", contract.id)
    assert lookup.Match("usage_address", "partial") in hit.matches or lookup.Match("usage_address", "exact") in hit.matches


def test_exact_matches_rank_first(operator, yamada):
    exact_contract, _ = yamada
    other = factories.contract(holder_name="山田 太郎次", holder_kana="ヤマダ タロウジ")
    result = lookup.search(operator, "山田太郎")
    ids = [(h.kind, h.id) for h in result.hits]
    assert ids.index(("contract", exact_contract.id)) < ids.index(("contract", other.id))


@pytest.mark.parametrize("typed", ["", " ", "a", "０", "-"])
def test_empty_or_one_character_query_gets_a_message(operator, typed):
    result = lookup.search(operator, typed)
    assert result.hits == [] and "2文字以上" in result.message


def test_cap_says_narrow_the_search(operator):
    for _ in range(lookup.CAP + 5):
        factories.contract(holder_name="佐藤 花子", holder_kana="サトウ ハナコ")
    result = lookup.search(operator, "サトウ")
    assert result.too_many and len(result.hits) == lookup.CAP
    assert "絞り込んで" in result.message


def test_no_hit_message(operator, yamada):
    result = lookup.search(operator, "存在しない名前")
    assert result.hits == [] and "見つかりませんでした" in result.message


def test_search_is_audited(operator, yamada):
    lookup.search(operator, "090-1234-5678")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "lookup.search")).all()[-1]
    assert event.staff_id == operator.id and event.detail["query"] == "090-1234-5678" and event.detail["hits"] == 1


def test_lookup_page_shows_masked_results(client, login_as, yamada):
    login_as("operator")
    html = client.get("/lookup/", query_string={"q": "ヤマダ"}).get_data(as_text=True)
    assert "K012345678" in html and "山田 太郎" in html
    assert "Yamada.Taro@Example.JP" not in html and "1132" in html and "6458" not in html
    assert "前方一致" in html


def test_screen_pop_one_account_opens_it(client, login_as, yamada):
    _, account = yamada
    login_as("operator")
    response = client.get("/lookup/", query_string={"phone": "+81-90-1234-5678"})
    # The customer's page carries the caller's number, with which a contact starts (issue 14).
    assert response.status_code == 302
    assert response.headers["Location"] == f"/customer/account/{account.id}?caller=09012345678"
    # The contract phone of the same customer leads to the same account.
    response = client.get("/lookup/", query_string={"phone": "0664581132"})
    assert response.headers["Location"] == f"/customer/account/{account.id}?caller=0664581132"


def test_screen_pop_contract_without_account_opens_the_contract(client, login_as):
    contract = factories.contract(contract_phone="072-111-2222")
    login_as("operator")
    response = client.get("/lookup/", query_string={"phone": "0721112222"})
    assert response.headers["Location"] == f"/customer/contract/{contract.id}?caller=0721112222"


def test_screen_pop_none_or_many_shows_the_list(client, login_as):
    factories.account(sms_phone="080-9999-0000")
    factories.account(sms_phone="080-9999-0000", email="other@example.jp")
    login_as("operator")
    many = client.get("/lookup/", query_string={"phone": "080-9999-0000"})
    assert many.status_code == 200 and many.get_data(as_text=True).count("開く") == 2
    none = client.get("/lookup/", query_string={"phone": "080-0000-0001"})
    assert none.status_code == 200 and "見つかりませんでした" in none.get_data(as_text=True)


def test_disaster_coordinator_cannot_look_up(client, login_as):
    login_as("disaster_coordinator")
    assert client.get("/lookup/", query_string={"q": "ヤマダ"}).status_code == 403


# --- issue 15: addresses too coarse to search, one row per customer ---------------------------------


@pytest.mark.parametrize(
    ("typed", "says"),
    [("北区", "北区だけでは探せません。町名まで"), ("大阪市北区", "北区だけでは探せません。町名まで"),
     ("大阪府大阪市 北区", "北区だけでは探せません"), ("四丁目", "四丁目だけでは探せません。町名を付けて"),
     ("4丁目", "4丁目だけでは探せません"), ("北区四丁目", "四丁目だけでは探せません"), ("大阪市", "区と町名まで")],
)
def test_a_bare_ward_or_chome_gets_guidance(operator, yamada, typed, says):
    result = lookup.search(operator, typed)
    assert result.guidance and result.hits == [] and says in result.message
    assert "見つかりませんでした" not in result.message
    assert "（例: " in result.message and "丁目）" in result.message
    if "北区" in typed:
        assert "例: 北区梅田" in result.message  # a town of that ward that has contracts


def test_guidance_example_follows_the_ward_and_the_chome(operator, yamada):
    factories.contract(ward_code="27128", town="本町二丁目")
    assert "例: 中央区本町二丁目" in lookup.search(operator, "中央区").message
    assert "例: 中央区本町四丁目" in lookup.search(operator, "中央区四丁目").message


def test_a_ward_with_a_town_is_searched(operator, yamada):
    contract, _ = yamada
    result = lookup.search(operator, "北区梅田")
    assert not result.guidance and _found(result, "contract", contract.id)


def test_guidance_on_the_page_is_not_a_warning(client, login_as, yamada):
    login_as("operator")
    html = client.get("/lookup/", query_string={"q": "大阪市北区"}).get_data(as_text=True)
    assert "町名まで入力してください" in html and "alert-info" in html and "見つかりませんでした" not in html


@pytest.fixture()
def aoi(database):
    """A customer whose name no other test uses: a portal account holding two contracts, and a third
    contract of the same name that no account holds."""
    kwargs = dict(holder_name="葵井 行一", holder_kana="アオイイ コウイチ")
    home, shop = factories.contract(**kwargs), factories.contract(**kwargs)
    account = factories.account(name="葵井 行一", name_kana="アオイイ コウイチ", email="aoi@example.jp")
    factories.link(account, home, main=True)
    factories.link(account, shop)
    other = factories.contract(**kwargs)
    return account, home, shop, other


def test_account_and_its_contracts_are_one_row(client, login_as, operator, aoi):
    account, home, shop, other = aoi
    result = lookup.search(operator, "葵井行一")
    assert [(r.account.id if r.account else None, [h.id for h in r.contracts]) for r in result.rows] == [
        (account.id, [home.id, shop.id]), (None, [other.id])]
    assert {m.field for m in result.rows[0].matches} == {"holder_name", "account_name"}
    login_as("operator")
    html = client.get("/lookup/", query_string={"q": "葵井行一"}).get_data(as_text=True)
    assert html.count('data-testid="lookup-row"') == 2 and html.count("開く") == 2 and "2件" in html
    assert f'href="/customer/contract/{home.id}"' in html and f'href="/customer/contract/{shop.id}"' in html
    assert f'href="/customer/account/{account.id}"' in html and f'href="/customer/contract/{other.id}"' in html


def test_a_contract_whose_account_did_not_match_keeps_its_own_row(operator, yamada):
    contract, account = yamada
    result = lookup.search(operator, contract.customer_number)
    assert len(result.rows) == 1 and result.rows[0].account is None
    assert result.rows[0].holder_link.account_id == account.id


def test_exact_first_is_said_only_when_something_matched_exactly(client, login_as, yamada):
    login_as("operator")
    exact = client.get("/lookup/", query_string={"q": "山田太郎"}).get_data(as_text=True)
    prefix = client.get("/lookup/", query_string={"q": "やまだ"}).get_data(as_text=True)
    assert "完全一致を先に表示" in exact
    assert "前方一致" in prefix and "完全一致を先に表示" not in prefix


@pytest.mark.parametrize("typed", ["梅田", "梅　田", "ｳﾒﾀﾞ"])
def test_a_two_character_town_that_finds_nobody_says_to_type_the_ward(operator, yamada, typed):
    """An address needs MIN_PARTIAL characters: 梅田 alone is searched as a name's beginning only. When it
    finds nobody and begins a town that has contracts, the message says how to type it as an address."""
    result = lookup.search(operator, typed)
    if typed == "ｳﾒﾀﾞ":  # no town begins with it: the plain message
        assert result.message == "該当するお客さまは見つかりませんでした。入力内容をご確認ください。"
        return
    assert result.hits == []
    assert result.message == ("該当するお客さまは見つかりませんでした。住所は3文字以上で探します。"
                              "区名から入力してください（例: 北区梅田一丁目）。")
    assert lookup.search(operator, "北区梅田").hits  # and that is found


def test_a_two_character_name_that_finds_someone_gets_no_hint(operator, yamada):
    result = lookup.search(operator, "山田")
    assert result.hits and result.message is None


def test_quotes_and_like_characters_are_searched_as_typed(operator):
    """The lookup writes its patterns into its statements (params.planned_for): a quote or a backslash is
    text, % and _ match only themselves, and SQL typed into the box is a name that finds nobody."""
    contract = factories.contract(holder_name="O'Neil 100%_商会", holder_kana="オニール", town="中之島一丁目",
                                  address_line="1-1")
    db.session.commit()
    for typed in ("o'neil", "O'Neil 100%_", "o'neil 100%_商会"):
        assert _found(lookup.search(operator, typed), "contract", contract.id), typed
    for typed in ("o'neil 1000", "o'neil 100xy", "o'neil 100%a", "o\\'neil"):
        assert not lookup.search(operator, typed).hits, typed
    result = lookup.search(operator, "'; DELETE FROM contract; --")
    assert result.hits == [] and result.message.startswith("該当するお客さまは見つかりませんでした。")
    assert db.session.get(type(contract), contract.id) is not None


def test_the_lookups_patterns_are_written_into_their_statements(operator, yamada):
    """The lookup's plans are reused (web.plans_reused): a pattern or a limit bound as a parameter would be
    planned for any value (a read of the whole index, a tenth of the table); written into the statement,
    each is planned for itself."""
    with factories.statements_run() as sent:
        assert lookup.search(operator, "やまだ").hits
        assert lookup.search(operator, "梅田").message  # the town hint's pattern too
    patterns = [s for s in sent if " LIKE " in s]
    assert len(patterns) >= 6
    assert all(re.search(r" LIKE '[^']+%'.* LIMIT \d+\b", s, re.S) for s in patterns), patterns
