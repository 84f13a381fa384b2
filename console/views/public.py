"""Public disaster pages and feeds (Q45): no sign-in, no personal data, cacheable.

Every response carries an ETag and Last-Modified derived from a cheap fingerprint query (latest status
entry, latest point change, latest published version), answers conditional requests with 304, and the
rendered body is kept per process for as long as the fingerprint stays the same.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from datetime import UTC, datetime

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from sqlalchemy import select
from werkzeug.http import is_resource_modified

from .. import clock
from ..extensions import db
from ..models import NoticeMode, OutageNoticeVersion, Phenomenon, SupplyPointType, SupplyStatus, VersionType
from ..services import disaster_feeds as feeds
from ..services import outage_mail, outage_notices
from ..services.supply_points import current_supply_points
from ..wards import WARDS

bp = Blueprint("public", __name__, url_prefix="/public")

CACHE_CONTROL = "public, max-age=15"
CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
_cache: dict[tuple, tuple[bytes, str]] = {}
_cache_lock = threading.Lock()


_checked: dict[int, tuple[float, tuple]] = {}


def _fingerprint() -> tuple:
    """The public fingerprint, asked of the database at most once per PUBLIC_CACHE_SECONDS per process."""
    ttl = current_app.config.get("PUBLIC_CACHE_SECONDS", 1.0)
    now = time.monotonic()
    hit = _checked.get(id(current_app))
    if hit is not None and now - hit[0] < ttl:
        return hit[1]
    fingerprint = outage_notices.public_fingerprint()
    _checked[id(current_app)] = (now, fingerprint)
    return fingerprint


def _last_modified(fingerprint: tuple) -> datetime:
    stamps = [v for v in fingerprint if isinstance(v, datetime)]
    latest = max((s if s.tzinfo else s.replace(tzinfo=UTC) for s in stamps), default=datetime(2026, 1, 1, tzinfo=UTC))
    return latest.replace(microsecond=0)


def _base_url() -> str:
    return (current_app.config.get("PUBLIC_BASE_URL") or request.url_root).rstrip("/")


def _url(endpoint: str, **values) -> str:
    return _base_url() + url_for(endpoint, **values)


def _cached(build, mimetype: str) -> Response:
    """Serve build() (→ bytes) with ETag/Last-Modified, 304 when the client has it, rendered once per change."""
    fingerprint = _fingerprint()
    key = (request.endpoint, tuple(sorted(request.view_args.items())), request.query_string, _base_url(), fingerprint)
    etag = hashlib.sha1(repr(key).encode()).hexdigest()[:32]
    last_modified = _last_modified(fingerprint)
    if not is_resource_modified(request.environ, etag=etag, last_modified=last_modified):
        response = Response(status=304)
    else:
        hit = _cache.get(key)
        if hit is None:
            hit = (build(), mimetype)
            with _cache_lock:
                if len(_cache) > 256:
                    _cache.clear()
                _cache[key] = hit
        response = Response(hit[0], mimetype=hit[1])
    response.set_etag(etag)
    response.last_modified = last_modified
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _json(payload) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


@bp.after_request
def _public_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    if response.status_code in (200, 304):
        # The console's no-store for signed-in staff must not stop a coordinator checking the public view.
        response.headers["Cache-Control"] = CACHE_CONTROL
    return response


def _grouped_points(rows):
    by_ward: dict[str, list] = {code: [] for code in WARDS}
    for row in rows:
        by_ward.setdefault(row[0].ward_code, []).append(row)
    return by_ward


@bp.get("/")
def index():
    """The public landing page: notices in force and where to get water."""
    def build():
        notices = outage_notices.public_notices()
        rows = current_supply_points()
        open_rows = [r for r in rows if r[1] in (SupplyStatus.OPEN, SupplyStatus.PREPARING)]
        return render_template("public/index.html", notices=notices, open_rows=open_rows, **_labels()).encode()
    return _cached(build, "text/html")


def _labels() -> dict:
    return dict(wards=WARDS, mode_labels=NoticeMode.labels(), phenomenon_labels=Phenomenon.labels(),
                type_labels=SupplyPointType.labels(), status_labels=SupplyStatus.labels(),
                area_text=outage_mail.area_text, version_type_labels=VersionType.labels(),
                generated_at=clock.now())


@bp.get("/supply-points")
def supply_points():
    """Current status of every supply point, by ward, for phones (Q45)."""
    ward = request.args.get("ward") or None
    if ward is not None and ward not in WARDS:
        abort(404)

    def build():
        rows = current_supply_points(ward)
        return render_template("public/supply_points.html", by_ward=_grouped_points(rows), ward=ward,
                               open_count=sum(1 for r in rows if r[1] == SupplyStatus.OPEN), **_labels()).encode()
    return _cached(build, "text/html")


@bp.get("/supply-points.json")
def supply_points_json():
    """Supply points as JSON."""
    return _cached(lambda: _json(feeds.supply_points_json(current_supply_points(), clock.now())),
                   "application/json")


@bp.get("/supply-points.geojson")
def supply_points_geojson():
    """Supply points as an RFC 7946 FeatureCollection (lon, lat)."""
    return _cached(lambda: _json(feeds.supply_points_geojson(current_supply_points(), clock.now())),
                   "application/geo+json")


@bp.get("/alerts")
def alerts():
    """Outage notices in force (and recently ended), with their version history."""
    def build():
        return render_template("public/alerts.html", notices=outage_notices.public_notices(), **_labels()).encode()
    return _cached(build, "text/html")


@bp.get("/alerts.json")
def alerts_json():
    """The latest published version of each current notice, as JSON."""
    def build():
        notices = outage_notices.public_notices()
        return _json({
            "generated_at": feeds.iso_tokyo(clock.now()),
            "notices": [
                {**feeds.version_record(latest, _url("public.alert_cap", version_id=latest.id)),
                 "status": notice.status.value}
                for notice, latest in notices
            ],
        })
    return _cached(build, "application/json")


@bp.get("/alerts.atom")
def alerts_atom():
    """Atom feed of the current notices; each entry links its CAP document."""
    def build():
        notices = outage_notices.public_notices()
        entries = [
            (latest, _url("public.alert_cap", version_id=latest.id), _url("public.alerts") + f"#notice-{notice.id}")
            for notice, latest in notices
        ]
        updated = max((latest.published_at for _, latest in notices), default=clock.now())
        return feeds.atom_feed(entries, _url("public.alerts_atom"), _url("public.alerts"), updated)
    return _cached(build, "application/atom+xml")


@bp.get("/alerts/<int:version_id>.xml")
def alert_cap(version_id: int):
    """One published version as a CAP 1.2 message; Update/Cancel reference the earlier versions."""
    version = db.session.get(OutageNoticeVersion, version_id)
    if version is None or version.published_at is None:
        abort(404)

    def build():
        earlier = list(db.session.scalars(
            select(OutageNoticeVersion).where(
                OutageNoticeVersion.notice_id == version.notice_id,
                OutageNoticeVersion.published_at.isnot(None),
                OutageNoticeVersion.version_no < version.version_no,
            ).order_by(OutageNoticeVersion.version_no)
        ))
        return feeds.cap_alert(version, earlier, _url("public.alerts") + f"#notice-{version.notice_id}")
    return _cached(build, "application/cap+xml")
