"""The desk's side of outages (issue 14, R23): operators and supervisors read every published notice and
its versions (never drafts, never a change), and the customer pages and lookup results flag a usage
location inside an active outage with the notice and the nearest open supply points.

An outage is active while its notice is published (not resolved or cancelled) in actual mode; its latest
published version says where (the same (ward, town) match as the mail, services/outage_mail.py), since
when and until when. The checks here take every shown contract at once: a constant number of queries.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from sqlalchemy import ColumnElement, Select, String, and_, func, or_, select
from sqlalchemy.orm import aliased, selectinload

from .. import clock
from ..extensions import db
from ..models import (
    AccountLink,
    Contract,
    IncidentStatus,
    NoticeMode,
    OutageArea,
    OutageNotice,
    OutageNoticeVersion,
    Staff,
    SupplyPoint,
    SupplyStatus,
)
from . import DomainError
from .params import among, dialect
from .permissions import CUSTOMER_DESK, requires
from .supply_points import current_supply_points

NOTICES_PER_PAGE = 50
POINTS_SHOWN = 3

Place = tuple[str, str]  # (ward code, town) of a usage location


# ---------------------------------------------------------------- reading notices (read-only)

@dataclass
class NoticeRow:
    """A notice on the desk's list: the incident and the version the public sees now."""

    notice: OutageNotice
    latest: OutageNoticeVersion

    @property
    def active(self) -> bool:
        """Published (not resolved or cancelled) and not an exercise or a test."""
        return self.notice.status == IncidentStatus.PUBLISHED and self.latest.mode == NoticeMode.ACTUAL


@dataclass
class NoticePage:
    """One page of the desk's list, newest first; `next_before` pages on (keyset on the notice id)."""

    rows: list[NoticeRow]
    next_before: int | None


def _latest_published():
    """Subquery: each notice's latest published version number."""
    return (
        select(OutageNoticeVersion.notice_id, func.max(OutageNoticeVersion.version_no).label("version_no"))
        .where(OutageNoticeVersion.published_at.is_not(None))
        .group_by(OutageNoticeVersion.notice_id)
        .subquery()
    )


@requires(CUSTOMER_DESK)
def list_notices(actor: Staff, before: int | None = None) -> NoticePage:
    """Every notice ever published (drafts never), active ones first on the first page, then newest first."""
    latest = _latest_published()
    query = (
        select(OutageNotice, OutageNoticeVersion)
        .join(latest, latest.c.notice_id == OutageNotice.id)
        .join(OutageNoticeVersion, and_(OutageNoticeVersion.notice_id == OutageNotice.id,
                                        OutageNoticeVersion.version_no == latest.c.version_no))
        .options(selectinload(OutageNoticeVersion.areas))
        .order_by(OutageNotice.id.desc())
        .limit(NOTICES_PER_PAGE + 1)
    )
    if before is not None:
        query = query.where(OutageNotice.id < before)
    rows = [NoticeRow(notice, version) for notice, version in db.session.execute(query)]
    more = len(rows) > NOTICES_PER_PAGE
    rows = rows[:NOTICES_PER_PAGE]
    if before is None:
        rows.sort(key=lambda r: not r.active)  # stable: active first, each part newest first
    return NoticePage(rows, min(r.notice.id for r in rows) if more else None)


@dataclass
class NoticeDetail:
    """A published notice for the desk: its published versions (newest first) with who published them."""

    notice: OutageNotice
    versions: list[OutageNoticeVersion]
    published_by: dict[int, str]
    supply_points: list[NearbyPoint] = field(default_factory=list)

    @property
    def latest(self) -> OutageNoticeVersion:
        """The version the public sees now."""
        return self.versions[0]

    @property
    def active(self) -> bool:
        """Published (not resolved or cancelled) and in actual mode."""
        return self.notice.status == IncidentStatus.PUBLISHED and self.latest.mode == NoticeMode.ACTUAL


@requires(CUSTOMER_DESK)
def view_notice(actor: Staff, notice_id: int) -> NoticeDetail:
    """One notice with every published version; a draft (never published) is not the desk's to see."""
    publisher = aliased(Staff)
    rows = db.session.execute(
        select(OutageNoticeVersion, publisher.name)
        .outerjoin(publisher, publisher.id == OutageNoticeVersion.published_by_id)
        .where(OutageNoticeVersion.notice_id == notice_id, OutageNoticeVersion.published_at.is_not(None))
        .options(selectinload(OutageNoticeVersion.areas))
        .order_by(OutageNoticeVersion.version_no.desc())
    ).all()
    if not rows:
        raise DomainError("このお知らせは発表されていません。")
    notice = rows[0][0].notice
    detail = NoticeDetail(notice, [v for v, _ in rows], {v.id: name or "" for v, name in rows})
    if detail.active:
        wards = sorted({a.ward_code for a in detail.latest.areas})
        detail.supply_points = nearest_open_points(wards, limit=None)
    return detail


# ---------------------------------------------------------------- supply points near a ward

@dataclass(frozen=True)
class NearbyPoint:
    """An open supply point shown to a caller: in their ward, or the nearest outside it."""

    point: SupplyPoint
    since: datetime | None
    same_ward: bool
    distance_km: float | None


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine) between (lat, lon) pairs."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(h))


def nearest_open_points(ward_codes: Iterable[str], *, limit: int | None = POINTS_SHOWN,
                        rows=None) -> list[NearbyPoint]:
    """Open supply points for callers in these wards: the wards' own first (R23), then the nearest others.

    A contract has no coordinates, only its ward and town, so "nearest" is measured from the centre of the
    ward's registered supply points (open or not); a ward without any gets only its own open points.
    One query (every point with its current status), or none when `rows` are given.
    """
    wards = set(ward_codes)
    rows = current_supply_points() if rows is None else rows
    spots = [(p.latitude, p.longitude) for p, _, _ in rows if p.ward_code in wards]
    centre = (sum(s[0] for s in spots) / len(spots), sum(s[1] for s in spots) / len(spots)) if spots else None
    found = []
    for point, status, since in rows:
        if status != SupplyStatus.OPEN:
            continue
        distance = _distance_km(centre, (point.latitude, point.longitude)) if centre else None
        found.append(NearbyPoint(point, since, point.ward_code in wards, distance))
    found.sort(key=lambda n: (not n.same_ward, n.distance_km if n.distance_km is not None else math.inf,
                              n.point.code))
    if centre is None:
        found = [n for n in found if n.same_ward]
    return found if limit is None else found[:limit]


# ---------------------------------------------------------------- usage locations inside an active outage

def place_params(places) -> dict:
    """The parameters covers_places names, for these (ward, town) places."""
    return {"wards": sorted({ward for ward, _ in places}), "places": [_place_key(ward, town) for ward, town in places]}


def _place_key(ward_code, town):
    """A usage location as one value, in Python or in SQL: the ward's code and the town."""
    return ward_code + "|" + town


def covers_places(area) -> ColumnElement[bool]:
    """SQL: the outage area covers one of the places given as parameters (place_params), R19's match: the
    whole ward, or that town of it. Two list parameters, whatever the number of places (a management
    company's 1,000 numbers stand at hundreds of them)."""
    return and_(among(area.ward_code, "wards", String),
                or_(area.town.is_(None), among(_place_key(area.ward_code, area.town), "places", String)))


@lru_cache(maxsize=4)
def _active_versions(_dialect: str) -> Select:
    """The latest published versions of active outages covering any of the places (built once)."""
    latest = _latest_published()
    area = aliased(OutageArea)
    return (
        select(OutageNoticeVersion)
        .join(OutageNotice, OutageNotice.id == OutageNoticeVersion.notice_id)
        .join(latest, and_(latest.c.notice_id == OutageNoticeVersion.notice_id,
                           latest.c.version_no == OutageNoticeVersion.version_no))
        .where(OutageNotice.status == IncidentStatus.PUBLISHED, OutageNoticeVersion.mode == NoticeMode.ACTUAL,
               select(area.id).where(area.version_id == OutageNoticeVersion.id, covers_places(area)).exists())
        .options(selectinload(OutageNoticeVersion.areas))
        .order_by(OutageNoticeVersion.published_at.desc())
    )


def active_outages_at(places: Iterable[Place]) -> dict[Place, list[OutageNoticeVersion]]:
    """For each (ward, town), the latest published versions of active outages covering it (R19's match:
    the whole ward, or that town of it). Two queries however many places: the versions, and their areas."""
    places = {p for p in places if p[0]}
    if not places:
        return {}
    versions = db.session.scalars(_active_versions(dialect()), place_params(places)).all()
    out: dict[Place, list[OutageNoticeVersion]] = {}
    for ward, town in places:
        hits = [v for v in versions if any(a.ward_code == ward and a.town in (None, town) for a in v.areas)]
        if hits:
            out[(ward, town)] = hits
    return out


@dataclass
class OutageAlert:
    """A banner on the customer view: one active outage, the shown contracts inside it in one ward, the
    open supply points for that ward and the expected restoration."""

    version: OutageNoticeVersion
    ward_code: str
    contracts: list[Contract]
    supply_points: list[NearbyPoint]

    @property
    def notice_id(self) -> int:
        """The incident, for links."""
        return self.version.notice_id

    @property
    def expected_restoration_at(self) -> datetime | None:
        """When the latest version expects service back."""
        return self.version.expected_restoration_at


def outage_alerts(contracts: Iterable[Contract]) -> list[OutageAlert]:
    """Banners for the contracts a customer page shows (ended contracts are left out): a constant number
    of queries, and none for the supply points when no contract is inside an active outage."""
    live = [c for c in contracts if c.stop_date is None or c.stop_date >= clock.today()]
    by_place = active_outages_at((c.ward_code, c.town) for c in live)
    if not by_place:
        return []
    alerts: dict[tuple[int, str], OutageAlert] = {}
    for contract in live:
        for version in by_place.get((contract.ward_code, contract.town), []):
            key = (version.id, contract.ward_code)
            if key not in alerts:
                alerts[key] = OutageAlert(version, contract.ward_code, [], [])
            alerts[key].contracts.append(contract)
    rows = current_supply_points()
    for alert in alerts.values():
        alert.supply_points = nearest_open_points([alert.ward_code], rows=rows)
    return sorted(alerts.values(), key=lambda a: (-a.version.published_at.timestamp(), a.ward_code))


def lookup_flags(contracts: Iterable[Contract], account_ids: Iterable[int]) -> dict[tuple[str, int], list[OutageNoticeVersion]]:
    """Lookup results: {("contract", id) | ("account", id): versions} for hits whose usage location (an
    account's: any of its live customer numbers') lies inside an active outage. At most three queries."""
    contracts = [c for c in contracts if c.stop_date is None or c.stop_date >= clock.today()]
    account_ids = list(account_ids)
    account_places: list[tuple[int, Place]] = []
    if account_ids:
        account_places = [(a, (w, t)) for a, w, t in db.session.execute(
            select(AccountLink.account_id, Contract.ward_code, Contract.town)
            .join(Contract, Contract.id == AccountLink.contract_id)
            .where(AccountLink.account_id.in_(account_ids), AccountLink.ended_at.is_(None),
                   or_(Contract.stop_date.is_(None), Contract.stop_date >= clock.today()))
        )]
    by_place = active_outages_at([(c.ward_code, c.town) for c in contracts] + [p for _, p in account_places])
    flags: dict[tuple[str, int], list[OutageNoticeVersion]] = {}

    def add(key, versions):
        current = flags.setdefault(key, [])
        current.extend(v for v in versions if v not in current)

    for contract in contracts:
        if (contract.ward_code, contract.town) in by_place:
            add(("contract", contract.id), by_place[(contract.ward_code, contract.town)])
    for account_id, place in account_places:
        if place in by_place:
            add(("account", account_id), by_place[place])
    return flags
