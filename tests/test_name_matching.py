"""Names in their old and variant forms (issue 15): 髙橋 finds 高橋, 齋藤 斎藤, 﨑山 崎山, through the lookup
service and page; a property test over ja-itaiji's table; the migration that rebuilds the stored keys."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, text

from console import normalise
from console.extensions import db
from console.services import lookup
from tests import factories

MIGRATION = Path(__file__).resolve().parent.parent / "migrations" / "versions" / "0009_name_keys_itaiji.py"


@pytest.fixture()
def operator(database):
    return factories.staff("operator")


def _customers(result) -> set[tuple[str, int]]:
    return {(hit.kind, hit.id) for hit in result.hits}


@pytest.mark.parametrize(
    ("stored", "typed"),
    [("高橋 花子", "髙橋"), ("斎藤 恵子", "齋藤"), ("斎藤 恵子", "齊藤"), ("崎山 誠", "﨑山"), ("髙橋 一郎", "高橋 一郎"),
     ("渡辺 広", "渡邉"), ("沢田 国男", "澤田 國男"), ("眞鍋 桜", "真鍋 櫻")],
)
def test_lookup_page_finds_a_name_typed_in_another_form(client, login_as, stored, typed):
    contract = factories.contract(holder_name=stored, holder_kana="テスト")
    login_as("operator")
    html = client.get("/lookup/", query_string={"q": typed}).get_data(as_text=True)
    assert contract.customer_number in html and stored in html
    assert "見つかりませんでした" not in html


def test_contract_stored_in_the_old_form_is_found_exactly(operator):
    contract = factories.contract(holder_name="髙橋 一郎", holder_kana="タカハシ イチロウ")
    account = factories.account(name="髙橋 一郎", name_kana="たかはし いちろう")
    assert contract.holder_name_key == account.name_key == "高橋一郎"
    result = lookup.search(operator, "高橋 一郎")
    assert {("contract", contract.id), ("account", account.id)} <= _customers(result)
    assert lookup.Match("holder_name", "exact") in next(h for h in result.hits if (h.kind, h.id) == ("contract", contract.id)).matches


VARIANTS = normalise.kanji_variants()
# Standard kanji that have old or variant forms, the common ones of names first.
NAME_KANJI = [c for c in "高斎崎辺沢広国真浜桜恵徳黒蔵弥芸実与寿栄条橋桑村槙島" if c in VARIANTS] + sorted(VARIANTS)


@st.composite
def variant_spellings(draw):
    """A name of standard kanji (surname, space, given name) and the same name with a random subset of
    its kanji replaced by a random variant form from the table."""
    kanji = st.sampled_from(NAME_KANJI[:40]) | st.sampled_from(NAME_KANJI)
    surname = draw(st.lists(kanji, min_size=1, max_size=3))
    given_name = draw(st.lists(kanji | st.sampled_from(list("一郎子太")), min_size=1, max_size=2))
    name = "".join(surname) + " " + "".join(given_name)
    stored = "".join(draw(st.sampled_from(VARIANTS[c])) if c in VARIANTS and draw(st.booleans()) else c for c in name)
    typed = "".join(draw(st.sampled_from(VARIANTS[c])) if c in VARIANTS and draw(st.booleans()) else c for c in name)
    return name, stored, typed


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(variant_spellings())
def test_any_variant_spelling_finds_the_same_customers(operator, spelling):
    """Stored in one spelling, typed in another: the lookup finds the same customers as for the standard
    form, and among them the customer just stored."""
    name, stored, typed = spelling
    contract = factories.contract(holder_name=stored, holder_kana="テスト")
    account = factories.account(name=stored, name_kana="テスト", email=f"v{contract.id}@example.jp")
    found = _customers(lookup.search(operator, typed))
    assert found == _customers(lookup.search(operator, name))
    assert {("contract", contract.id), ("account", account.id)} <= found


# --- the migration --------------------------------------------------------------------------------------


def _migration():
    spec = importlib.util.spec_from_file_location("migration_0009", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _make_stale(contract, account) -> None:
    """Write the keys the previous normalisation stored: no variant folding."""
    db.session.execute(text("UPDATE contract SET holder_name_key = :n, holder_kana_key = :k WHERE id = :id"),
                       {"n": "髙橋一郎", "k": "たかはしいちろう", "id": contract.id})
    db.session.execute(text("UPDATE portal_account SET name_key = :n, name_kana_key = NULL WHERE id = :id"),
                       {"n": "齋藤恵子", "id": account.id})


def test_migration_rebuilds_stale_keys_in_batches(database):
    contracts = [factories.contract(holder_name="髙橋 一郎", holder_kana="タカハシ イチロウ") for _ in range(3)]
    untouched = factories.contract(holder_name="山田 花子", holder_kana="ヤマダ ハナコ")
    account = factories.account(name="齋藤 恵子", name_kana="サイトウ ケイコ", email="saito@example.jp")
    for contract in contracts:
        _make_stale(contract, account)
    connection = db.session.connection()
    selects: list[str] = []

    def _count(_conn, _cursor, statement, _parameters, _context, _executemany):
        if statement.lstrip().upper().startswith("SELECT") and "LIMIT" in statement.upper():
            selects.append(statement)

    event.listen(connection, "before_cursor_execute", _count)
    try:
        changed = _migration().rebuild_name_keys(connection, batch_size=2)
    finally:
        event.remove(connection, "before_cursor_execute", _count)
    assert changed == 4  # three contracts and the account; rows already right are not written
    rows = db.session.execute(text("SELECT id, holder_name_key, holder_kana_key FROM contract ORDER BY id")).all()
    assert {(r.holder_name_key, r.holder_kana_key) for r in rows if r.id in {c.id for c in contracts}} == {
        ("高橋一郎", "タカハシイチロウ")}
    assert next(r for r in rows if r.id == untouched.id).holder_name_key == "山田花子"
    keys = db.session.execute(text("SELECT name_key, name_kana_key FROM portal_account WHERE id = :id"),
                              {"id": account.id}).one()
    assert tuple(keys) == ("斎藤恵子", "サイトウケイコ")
    # Keyset batches of two: never the whole table in one read.
    total = len(rows) + db.session.scalar(text("SELECT count(*) FROM portal_account"))
    assert len(selects) >= total // 2 and all("LIMIT" in s.upper() for s in selects)
    assert _migration().rebuild_name_keys(connection, batch_size=2) == 0  # a second run changes nothing


def test_migration_runs_through_alembic(app, tmp_path_factory):
    """Down to 0008 and up again on a fresh database: the upgrade rebuilds stale keys."""
    from flask_migrate import downgrade, upgrade

    from console import create_app
    from tests.conftest import fresh_database

    urls = fresh_database(tmp_path_factory, "itaiji")
    url = next(urls)
    try:
        other = create_app({**{k: app.config[k] for k in ("SECRET_KEY", "OUTBOX_DIR", "FILES_DIR")},
                            "TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None})
        with other.app_context():
            upgrade()
            contract = factories.contract(holder_name="﨑山 誠", holder_kana="サキヤマ マコト")
            account = factories.account(name="齋藤 恵子", name_kana="サイトウ ケイコ")
            _make_stale(contract, account)
            db.session.commit()
            downgrade(revision="0008_staff_locked_mail")
            upgrade()
            assert db.session.execute(text("SELECT holder_name_key FROM contract")).scalar() == "崎山誠"
            assert db.session.execute(text("SELECT name_key FROM portal_account")).scalar() == "斎藤恵子"
            db.session.remove()
            db.engine.dispose()
    finally:
        next(urls, None)
