"""Public machine-readable output of disaster data: JSON, GeoJSON (RFC 7946), Atom, CAP 1.2.

Pure builders: they take rows and URLs and return bytes or dicts; no personal data goes in (no staff
names, nothing about customers), only what the public pages show.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from xml.etree import ElementTree as ET

from ..formats import TOKYO
from ..models import (
    NoticeKind,
    NoticeMode,
    OutageNoticeVersion,
    Phenomenon,
    SupplyPoint,
    SupplyPointType,
    SupplyStatus,
    VersionType,
)
from ..wards import CITY_NAME, ward_name

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_SENDER = "outage@water.city.osaka.example.jp"
SENDER_NAME = "大阪市水道局"
GEOCODE_NAME = "JISX0402"
CAP_STATUS = {NoticeMode.ACTUAL: "Actual", NoticeMode.EXERCISE: "Exercise", NoticeMode.TEST: "Test"}
CAP_MSG_TYPE = {VersionType.ALERT: "Alert", VersionType.UPDATE: "Update", VersionType.RESOLVE: "Update",
                VersionType.CANCEL: "Cancel"}
FEED_TAG = "tag:water.city.osaka.example.jp,2026"


def iso_tokyo(value: datetime | None) -> str | None:
    """2026-11-25T06:00:00+09:00 (CAP's dateTime form: seconds, no fraction, explicit offset)."""
    if value is None:
        return None
    return value.astimezone(TOKYO).replace(microsecond=0).isoformat()


def supply_point_record(point: SupplyPoint, status, changed_at: datetime | None) -> dict:
    """One supply point as the public sees it."""
    return {
        "code": point.code,
        "name": point.name,
        "kana": point.kana,
        "type": point.point_type.value,
        "type_label": SupplyPointType(point.point_type).label,
        "ward_code": point.ward_code,
        "ward_name": ward_name(point.ward_code),
        "address": point.address,
        "latitude": point.latitude,
        "longitude": point.longitude,
        "notes": point.notes,
        "status": status.value,
        "status_label": SupplyStatus(status).label,
        "status_changed_at": iso_tokyo(changed_at),
    }


def supply_points_json(rows, generated_at: datetime) -> dict:
    """{"generated_at", "supply_points": [...]}"""
    return {"generated_at": iso_tokyo(generated_at), "city": CITY_NAME,
            "supply_points": [supply_point_record(*row) for row in rows]}


def supply_points_geojson(rows, generated_at: datetime) -> dict:
    """An RFC 7946 FeatureCollection; coordinates are [longitude, latitude]."""
    features = []
    for point, status, changed_at in rows:
        properties = supply_point_record(point, status, changed_at)
        properties.pop("latitude")
        properties.pop("longitude")
        features.append({
            "type": "Feature",
            "id": point.code,
            "geometry": {"type": "Point", "coordinates": [point.longitude, point.latitude]},
            "properties": properties,
        })
    return {"type": "FeatureCollection", "features": features,
            "generated_at": iso_tokyo(generated_at)}


def version_record(version: OutageNoticeVersion, cap_url: str | None = None) -> dict:
    """One published notice version as the public sees it."""
    areas: dict[str, list[str]] = {}
    for area in version.areas:
        areas.setdefault(area.ward_code, [])
        if area.town:
            areas[area.ward_code].append(area.town)
    return {
        "notice_id": version.notice_id,
        "version_id": version.id,
        "version_no": version.version_no,
        "version_type": version.version_type.value,
        "mode": version.mode.value,
        "mode_label": NoticeMode(version.mode).label,
        "kind": version.kind.value,
        "phenomenon": version.phenomenon.value,
        "phenomenon_label": Phenomenon(version.phenomenon).label,
        "title": version.title,
        "body": version.body,
        "guidance": version.guidance,
        "starts_at": iso_tokyo(version.starts_at),
        "expected_restoration_at": iso_tokyo(version.expected_restoration_at),
        "published_at": iso_tokyo(version.published_at),
        "areas": [{"ward_code": w, "ward_name": ward_name(w), "towns": t} for w, t in areas.items()],
        "cap_url": cap_url,
    }


def cap_identifier(version: OutageNoticeVersion) -> str:
    """Unique per message, stable, and free of the characters CAP forbids (space, comma, <, &)."""
    return f"jp.osaka-city.water.outage.{version.notice_id}.{version.version_no}"


def cap_reference(version: OutageNoticeVersion) -> str:
    """sender,identifier,sent — how a later message names this one."""
    return f"{CAP_SENDER},{cap_identifier(version)},{iso_tokyo(version.published_at)}"


def _sub(parent, tag: str, text: str | None = None):
    element = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        element.text = text
    return element


def cap_alert(version: OutageNoticeVersion, earlier: list[OutageNoticeVersion], web_url: str | None = None) -> bytes:
    """The version as a CAP 1.2 alert; `earlier` are the incident's earlier published versions."""
    ET.register_namespace("", CAP_NS)
    closing = version.version_type in (VersionType.RESOLVE, VersionType.CANCEL)
    alert = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(alert, "identifier", cap_identifier(version))
    _sub(alert, "sender", CAP_SENDER)
    _sub(alert, "sent", iso_tokyo(version.published_at))
    _sub(alert, "status", CAP_STATUS[version.mode])
    _sub(alert, "msgType", CAP_MSG_TYPE[version.version_type])
    _sub(alert, "source", SENDER_NAME)
    _sub(alert, "scope", "Public")
    if version.mode != NoticeMode.ACTUAL:
        _sub(alert, "note", f"これは{NoticeMode(version.mode).label}です。")
    elif version.version_type == VersionType.CANCEL:
        _sub(alert, "note", "このお知らせは取り消されました。")
    if earlier:
        _sub(alert, "references", " ".join(cap_reference(v) for v in earlier))
    _sub(alert, "incidents", f"jp.osaka-city.water.outage.{version.notice_id}")
    info = _sub(alert, "info")
    _sub(info, "language", "ja-JP")
    _sub(info, "category", "Infra")
    _sub(info, "event", Phenomenon(version.phenomenon).label)
    if version.version_type == VersionType.RESOLVE:
        _sub(info, "responseType", "AllClear")
    elif version.version_type != VersionType.CANCEL:
        _sub(info, "responseType", "Prepare")
    if closing:
        urgency = "Past"
    elif version.kind == NoticeKind.PLANNED and version.starts_at > version.published_at:
        urgency = "Expected"
    else:
        urgency = "Immediate"
    _sub(info, "urgency", urgency)
    _sub(info, "severity", "Moderate" if version.phenomenon == Phenomenon.OUTAGE else "Minor")
    _sub(info, "certainty", "Observed" if version.kind == NoticeKind.EMERGENCY or closing else "Likely")
    _sub(info, "onset", iso_tokyo(version.starts_at))
    expires = version.expected_restoration_at
    if closing or expires is None or expires <= version.published_at:
        expires = version.published_at + timedelta(hours=24)
    _sub(info, "expires", iso_tokyo(expires))
    _sub(info, "senderName", SENDER_NAME)
    _sub(info, "headline", version.title)
    _sub(info, "description", version.body)
    if version.guidance:
        _sub(info, "instruction", version.guidance)
    if web_url:
        _sub(info, "web", web_url)
    wards: dict[str, list[str]] = {}
    for area in version.areas:
        wards.setdefault(area.ward_code, [])
        if area.town:
            wards[area.ward_code].append(area.town)
    for ward, towns in wards.items():
        area = _sub(info, "area")
        _sub(area, "areaDesc", CITY_NAME + ward_name(ward) + (f"（{'、'.join(towns)}）" if towns else ""))
        geocode = _sub(area, "geocode")
        _sub(geocode, "valueName", GEOCODE_NAME)
        _sub(geocode, "value", ward)
    return ET.tostring(alert, encoding="utf-8", xml_declaration=True)


def atom_feed(entries: list[tuple[OutageNoticeVersion, str, str]], self_url: str, page_url: str,
              updated: datetime) -> bytes:
    """An Atom 1.0 feed; entries are (latest version, its CAP URL, its page URL), newest first."""
    ET.register_namespace("", ATOM_NS)

    def sub(parent, tag, text=None, **attrs):
        element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    feed = ET.Element(f"{{{ATOM_NS}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "ja"})
    sub(feed, "id", f"{FEED_TAG}:alerts")
    sub(feed, "title", f"{SENDER_NAME} 断水等のお知らせ")
    sub(feed, "updated", iso_tokyo(updated))
    sub(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    sub(feed, "link", rel="alternate", type="text/html", href=page_url)
    author = sub(feed, "author")
    sub(author, "name", SENDER_NAME)
    for version, cap_url, html_url in entries:
        entry = sub(feed, "entry")
        sub(entry, "id", f"{FEED_TAG}:outage-{version.notice_id}-{version.version_no}")
        prefix = "" if version.mode == NoticeMode.ACTUAL else f"【{NoticeMode(version.mode).label}】"
        closing = {VersionType.RESOLVE: "【解消】", VersionType.CANCEL: "【取消】"}.get(version.version_type, "")
        title = version.title if version.title.startswith(prefix) else prefix + version.title
        sub(entry, "title", closing + title)
        sub(entry, "updated", iso_tokyo(version.published_at))
        sub(entry, "published", iso_tokyo(version.published_at))
        sub(entry, "link", rel="alternate", type="application/cap+xml", href=cap_url)
        sub(entry, "link", rel="related", type="text/html", href=html_url)
        sub(entry, "category", term=version.mode.value, label=NoticeMode(version.mode).label)
        areas = "、".join(dict.fromkeys(ward_name(a.ward_code) for a in version.areas))
        sub(entry, "summary", f"{Phenomenon(version.phenomenon).label}（{areas}）{version.body}")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
