"""Finding a customer from whatever the operator typed (issue 3): phone, e-mail, customer or
settlement number, name in kanji or kana, usage address. Every query is normalised first and
answered from indexed columns; each sub-query is capped, so no query scans a table."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import normalise
from ..extensions import db
from ..models import AccountLink, Contract, PortalAccount, Staff
from ..wards import CITY_NAME, WARD_CODES_BY_NAME, WARDS
from .audit import record
from .params import planned_for
from .permissions import CUSTOMER_DESK, requires

CAP = 50
MIN_LENGTH = 2
# Trigram indexes serve patterns of three or more characters; shorter ones get exact/prefix only.
MIN_PARTIAL = 3
# Fewest digits for a partial phone match (issue 3: 3+ characters).
MIN_PHONE_DIGITS = 3

FIELD_LABELS = {
    "customer_number": "お客さま番号",
    "settlement_number": "調定番号",
    "contract_phone": "契約時の電話番号",
    "sms_phone": "SMS認証用携帯電話番号",
    "email": "メールアドレス",
    "holder_name": "契約者名",
    "holder_kana": "契約者名（カナ）",
    "account_name": "利用者名",
    "account_kana": "利用者名（カナ）",
    "usage_address": "使用場所",
}
HOW_LABELS = {"exact": "完全一致", "prefix": "前方一致", "partial": "部分一致"}
HOW_RANK = {"exact": 0, "prefix": 1, "partial": 2}

_PHONE_PUNCTUATION = re.compile(r"[\d()+.]")


@dataclass(frozen=True)
class Match:
    """Which field matched the query, and how."""

    field: str
    how: str

    @property
    def label(self) -> str:
        """「契約時の電話番号（完全一致）」."""
        return f"{FIELD_LABELS[self.field]}（{HOW_LABELS[self.how]}）"


@dataclass
class Hit:
    """One account or contract found, with every way it matched."""

    kind: str  # "account" or "contract"
    id: int
    matches: list[Match] = field(default_factory=list)
    row: object | None = None

    @property
    def rank(self) -> int:
        """Best match first: exact, then prefix, then partial."""
        return min(HOW_RANK[m.how] for m in self.matches)


@dataclass
class CustomerRow:
    """One customer on the results page: a portal account with those of its contracts that matched too,
    or a contract on its own (no account holds it, or its account did not match)."""

    account: Hit | None = None
    contracts: list[Hit] = field(default_factory=list)
    # The account's main customer number (R4), or the account that holds a contract on its own.
    main_link: AccountLink | None = None
    holder_link: AccountLink | None = None

    @property
    def hits(self) -> list[Hit]:
        """The account's hit first, then the contracts'."""
        return ([self.account] if self.account else []) + self.contracts

    @property
    def matches(self) -> list[Match]:
        """Every way the customer matched, each once, best first."""
        unique = list(dict.fromkeys(m for hit in self.hits for m in hit.matches))
        return sorted(unique, key=lambda m: HOW_RANK[m.how])

    @property
    def rank(self) -> int:
        """The best match of any of its hits."""
        return min(hit.rank for hit in self.hits)


@dataclass
class LookupResult:
    """What the lookup page shows."""

    query: str
    hits: list[Hit] = field(default_factory=list)
    rows: list[CustomerRow] = field(default_factory=list)
    too_many: bool = False
    message: str | None = None
    # The message says what to type (a bare ward or 丁目), rather than that nothing was found.
    guidance: bool = False

    @property
    def any_exact(self) -> bool:
        """Something matched exactly, so exact matches are listed first."""
        return any(row.rank == HOW_RANK["exact"] for row in self.rows)


def _like(column, text: str, *, anywhere: bool = False):
    """SQL: column begins with text (or holds it anywhere), text matched as typed (% and _ only match
    themselves). The pattern is written into the statement (params.planned_for): the lookup's plans are
    reused (web.plans_reused), and a pattern planned for any pattern reads the whole index."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(planned_for(f"%{escaped}%" if anywhere else f"{escaped}%"), escape="\\")


def _how(value: str, key: str) -> str:
    if value == key:
        return "exact"
    return "prefix" if value.startswith(key) else "partial"


class _Collector:
    """Gathers hits from several capped sub-queries."""

    def __init__(self):
        self.hits: dict[tuple[str, int], Hit] = {}
        self.overflow = False

    def add(self, kind: str, row_id: int, match: Match) -> None:
        hit = self.hits.setdefault((kind, row_id), Hit(kind, row_id))
        if match not in hit.matches:
            hit.matches.append(match)

    def run(self, kind: str, model, column, field_name: str, key: str, *, exact_only=False, partial=True) -> None:
        """Exact, prefix or partial matches of key in one indexed column."""
        # A key found by equality is planned once (web.plans_reused); a pattern (_like) and the limit (a
        # plan for any limit guesses a tenth of the table) are written into the statement.
        if exact_only:
            condition = column == key
        else:
            condition = _like(column, key, anywhere=partial and len(key) >= MIN_PARTIAL)
        rows = db.session.execute(select(model.id, column).where(condition).limit(planned_for(CAP + 1))).all()
        if len(rows) > CAP:
            self.overflow = True
        for row_id, value in rows:
            self.add(kind, row_id, Match(field_name, _how(value, key)))


def _is_phone_like(text: str) -> bool:
    return bool(normalise.phone_digits(text)) and not _PHONE_PUNCTUATION.sub("", normalise.compact(text))


@requires(CUSTOMER_DESK)
def search(actor: Staff, raw: str, *, phone_only: bool = False) -> LookupResult:
    """Find accounts and contracts for what the operator typed; audited (the query can be personal data)."""
    query = normalise.nfkc(raw)
    result = LookupResult(query=query)
    if len(normalise.compact(query)) < MIN_LENGTH:
        result.message = "2文字以上入力してください（電話番号・メールアドレス・お客さま番号・調定番号・氏名・住所）。"
        return result
    guidance = None if phone_only else _address_guidance(query)
    if guidance:
        result.message, result.guidance = guidance, True
        return result
    found = _Collector()
    if phone_only or _is_phone_like(query):
        _search_phone(found, normalise.phone_digits(query))
        if not phone_only:
            _search_numbers(found, query)
    elif "@" in query:
        key = normalise.email_key(query)
        # A whole address is found by the index at once; a fragment falls back to a partial match.
        found.run("account", PortalAccount, PortalAccount.email_key, "email", key, exact_only=True)
        if not found.hits:
            found.run("account", PortalAccount, PortalAccount.email_key, "email", key, partial=len(key) >= MIN_PARTIAL)
    else:
        _search_numbers(found, query)
        # A whole customer or settlement number is answered by its unique index alone.
        if not (found.hits and (normalise.customer_number(query) or normalise.settlement_number(query))):
            _search_names(found, query)
    result.hits = sorted(found.hits.values(), key=lambda h: (h.rank, h.kind != "account", h.id))
    if len(result.hits) > CAP or found.overflow:
        result.too_many = True
        result.hits = result.hits[:CAP]
        result.message = f"該当が{CAP}件を超えました。番号や氏名を追加して、条件を絞り込んでください。"
    elif not result.hits:
        hint = None if phone_only else _short_address_hint(query)
        result.message = "該当するお客さまは見つかりませんでした。" + (hint or "入力内容をご確認ください。")
    _load_rows(result.hits)
    result.rows = _customer_rows(result.hits)
    record(
        actor,
        "lookup.search",
        detail={"query": query, "phone_only": phone_only, "hits": len(result.hits), "customers": len(result.rows),
                "too_many": result.too_many},
    )
    return result


def _search_phone(found: _Collector, digits: str) -> None:
    if len(digits) < MIN_PHONE_DIGITS:
        return
    # A full number is looked up exactly; a fragment (the last digits, an area code) partially.
    exact = len(digits) >= 10
    found.run("contract", Contract, Contract.contract_phone_digits, "contract_phone", digits, exact_only=exact)
    found.run("account", PortalAccount, PortalAccount.sms_phone_digits, "sms_phone", digits, exact_only=exact)


def _search_numbers(found: _Collector, query: str) -> None:
    customer_number = normalise.customer_number(query)
    settlement_number = normalise.settlement_number(query)
    compact = normalise.compact(query)
    if customer_number:
        found.run("contract", Contract, Contract.customer_number, "customer_number", customer_number, exact_only=True)
    elif re.fullmatch(r"[A-Z]\d{2,8}", compact):
        found.run("contract", Contract, Contract.customer_number, "customer_number", compact, partial=False)
    if settlement_number:
        found.run(
            "contract", Contract, Contract.settlement_number, "settlement_number", settlement_number, exact_only=True
        )
    elif re.fullmatch(r"\d{2}[A-Z]\d{0,6}", compact):
        found.run("contract", Contract, Contract.settlement_number, "settlement_number", compact, partial=False)


def _search_names(found: _Collector, query: str) -> None:
    name = normalise.name_key(query)
    if len(name) >= MIN_LENGTH:
        found.run("contract", Contract, Contract.holder_name_key, "holder_name", name)
        found.run("contract", Contract, Contract.holder_kana_key, "holder_kana", name)
        found.run("account", PortalAccount, PortalAccount.name_key, "account_name", name)
        found.run("account", PortalAccount, PortalAccount.name_kana_key, "account_kana", name)
    address = normalise.address_key(query)
    if len(address) >= MIN_PARTIAL:
        found.run("contract", Contract, Contract.usage_address_key, "usage_address", address)


def _load_rows(hits: list[Hit]) -> None:
    """Attach the rows to show, in a fixed number of queries."""
    contract_ids = [h.id for h in hits if h.kind == "contract"]
    account_ids = [h.id for h in hits if h.kind == "account"]
    # No round trip for a kind with no hits (a customer number finds no account, an e-mail no contract).
    contracts = {c.id: c for c in db.session.scalars(select(Contract).where(Contract.id.in_(contract_ids)))} \
        if contract_ids else {}
    accounts = {a.id: a for a in db.session.scalars(select(PortalAccount).where(PortalAccount.id.in_(account_ids)))} \
        if account_ids else {}
    for hit in hits:
        hit.row = contracts.get(hit.id) if hit.kind == "contract" else accounts.get(hit.id)


def _customer_rows(hits: list[Hit]) -> list[CustomerRow]:
    """One row per customer: a contract whose active link leads to an account that matched joins that
    account's row; best match first, accounts before contracts on their own."""
    links = active_links_for_contracts([h.id for h in hits if h.kind == "contract"])
    mains = main_links_for_accounts([h.id for h in hits if h.kind == "account"])
    rows = {("account", h.id): CustomerRow(account=h, main_link=mains.get(h.id)) for h in hits if h.kind == "account"}
    for hit in hits:
        if hit.kind != "contract":
            continue
        link = links.get(hit.id)
        row = rows.get(("account", link.account_id)) if link else None
        if row is not None:
            row.contracts.append(hit)
        else:
            rows[("contract", hit.id)] = CustomerRow(contracts=[hit], holder_link=link)
    return sorted(rows.values(), key=lambda r: (r.rank, r.account is None, r.hits[0].id))


_WARD_NAMES = sorted(WARDS.values(), key=len, reverse=True)
_CITY_PREFIX_RE = re.compile(rf"^(大阪府)?({CITY_NAME})?")
_CHOME_ONLY_RE = re.compile(r"[0-9〇一二三四五六七八九十]+丁目")
_CHOME_SUFFIX_RE = re.compile(r"[0-9〇一二三四五六七八九十]+丁目$")


def _address_guidance(query: str) -> str | None:
    """What to type when the query is an address too coarse to search: the city, a ward (北区, 大阪市北区)
    or a bare 丁目 (四丁目, 北区四丁目); None for anything else."""
    text = normalise.compact(query)
    rest = _CITY_PREFIX_RE.sub("", text)
    if not rest:
        if text in {"大阪府", CITY_NAME, f"大阪府{CITY_NAME}"}:
            ward_code, town = _example_town(None)
            return (f"{text}だけでは探せません。区と町名まで入力してください"
                    f"（例: {WARDS.get(ward_code, '北区')}{town}）。")
        return None
    ward = next((name for name in _WARD_NAMES if rest.startswith(name)), None)
    after_ward = rest[len(ward):] if ward else rest
    if ward and not after_ward:
        _code, town = _example_town(ward)
        return (f"{ward}だけでは探せません。町名まで入力してください（例: {ward}{town}）。"
                "番地まで入れると一件に絞れます。")
    if _CHOME_ONLY_RE.fullmatch(after_ward):
        ward_code, town = _example_town(ward)
        example = f"{ward or WARDS.get(ward_code, '北区')}{_CHOME_SUFFIX_RE.sub('', town)}{after_ward}"
        return f"{after_ward}だけでは探せません。町名を付けて入力してください（例: {example}）。"
    return None


def _short_address_hint(query: str) -> str | None:
    """What to type when a name or address of fewer than MIN_PARTIAL characters found nobody and is the
    beginning of a town that has contracts (梅田): the ward and the town, which are searched as an address
    (北区梅田一丁目); None otherwise. One read of the town index."""
    text = normalise.compact(query)
    if not MIN_LENGTH <= len(normalise.address_key(query)) < MIN_PARTIAL or _is_phone_like(text):
        return None
    row = db.session.execute(select(Contract.ward_code, Contract.town)
                             .where(_like(Contract.town, text))
                             .limit(planned_for(1))).first()
    if row is None or row.ward_code not in WARDS:
        return None
    return (f"住所は{MIN_PARTIAL}文字以上で探します。区名から入力してください"
            f"（例: {WARDS[row.ward_code]}{row.town}）。")


def _example_town(ward: str | None) -> tuple[str | None, str]:
    """A town (with its 丁目) that has a contract, for the example in a guidance message: one read of
    the (ward_code, town) index, in the given ward when there is one."""
    statement = select(Contract.ward_code, Contract.town).order_by(Contract.ward_code, Contract.town).limit(1)
    if ward:
        statement = statement.where(Contract.ward_code == WARD_CODES_BY_NAME[ward])
    row = db.session.execute(statement).first()
    return (row.ward_code, row.town) if row else (None, "〇〇一丁目")


def active_links_for_contracts(contract_ids: list[int]) -> dict[int, AccountLink]:
    """The active account link of each contract (R5: at most one)."""
    if not contract_ids:
        return {}
    rows = db.session.scalars(
        select(AccountLink).where(AccountLink.contract_id.in_(contract_ids), AccountLink.ended_at.is_(None))
    )
    return {link.contract_id: link for link in rows}


def main_links_for_accounts(account_ids: list[int]) -> dict[int, AccountLink]:
    """The main customer-number link of each account (R4)."""
    if not account_ids:
        return {}
    rows = db.session.scalars(
        select(AccountLink).where(
            AccountLink.account_id.in_(account_ids), AccountLink.is_main.is_(True), AccountLink.ended_at.is_(None)
        ).options(joinedload(AccountLink.contract))  # one statement: a link has one contract
    )
    return {link.account_id: link for link in rows}


def screen_pop_target(result: LookupResult) -> tuple[str, int] | None:
    """Screen pop (a call's number): ("account", id) or ("contract", id) when the number identifies one
    customer — one portal account, or one contract that no account holds — else None (show the list)."""
    accounts = {row.account.id for row in result.rows if row.account}
    accounts |= {row.holder_link.account_id for row in result.rows if row.holder_link}
    orphans = [row.contracts[0].id for row in result.rows if not row.account and not row.holder_link]
    if len(accounts) == 1 and not orphans:
        return "account", accounts.pop()
    if not accounts and len(orphans) == 1:
        return "contract", orphans[0]
    return None
