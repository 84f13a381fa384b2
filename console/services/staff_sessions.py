"""Staff sign-ins as server-side records (issue 16): one StaffSession row per sign-in, started where the
sign-in completes, checked on every request, and ended by sign-out, the idle timeout, the member (from
another browser), an admin, a password change, a lock, a role change or disabling the account. An ended
row is never live again, so a copy of an old cookie signs nobody in."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import joinedload

from .. import clock
from ..extensions import db
from ..models import AuditEvent, SessionEndReason, Staff, StaffSession
from . import DomainError
from .audit import record
from .inputs import require_text
from .permissions import ADMINS, ANY_STAFF, requires

# last_seen_at is written at most this often: a page a second must not mean a write a second.
LAST_SEEN_EVERY = timedelta(minutes=1)
_KEY_BYTES = 32


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


# --- the device, in words the member recognises -----------------------------------------------------

# Order matters: Edge, Opera and Samsung's browser also say "Chrome", and Chrome also says "Safari".
_BROWSERS = (
    (r"Edg(e|A|iOS)?/", "Edge"),
    (r"OPR/|Opera", "Opera"),
    (r"SamsungBrowser/", "Samsung Internet"),
    (r"Firefox/|FxiOS/", "Firefox"),
    (r"Chrome/|CriOS/|Chromium/", "Chrome"),
    (r"Trident/|MSIE ", "Internet Explorer"),
    (r"Safari/", "Safari"),
)
_DEVICES = (
    (r"iPad", "iPad"),
    (r"iPhone", "iPhone"),
    (r"Android.*Mobile", "Android スマートフォン"),
    (r"Android", "Android タブレット"),
    (r"Windows", "Windows パソコン"),
    (r"Macintosh|Mac OS X", "Mac"),
    (r"CrOS", "Chromebook"),
    (r"Linux|X11", "Linux パソコン"),
)


def describe_device(user_agent: str | None) -> str:
    """「Windows パソコンの Edge」「iPhone の Safari」: the browser's User-Agent in plain words."""
    text = user_agent or ""
    device = next((name for pattern, name in _DEVICES if re.search(pattern, text)), None)
    browser = next((name for pattern, name in _BROWSERS if re.search(pattern, text)), None)
    if device and browser:
        return f"{device} の {browser}"
    if device:
        return f"{device}（ブラウザ不明）"
    if browser:
        return f"{browser}（端末不明）"
    return "不明な端末"


# --- starting and checking ------------------------------------------------------------------------------


def start_session(staff: Staff, *, client_addr: str | None, user_agent: str | None,
                  second_factor: str | None = None) -> tuple[StaffSession, str]:
    """Where a sign-in completes: a live record for this browser and the random key its cookie carries
    (only the key's digest is stored). Audited as the sign-in."""
    key = secrets.token_urlsafe(_KEY_BYTES)
    now = clock.now()
    session = StaffSession(
        staff_id=staff.id, key_digest=_digest(key), started_at=now, last_seen_at=now,
        client_addr=(client_addr or None) and client_addr[:45],
        user_agent=(user_agent or None) and user_agent[:400],
        device=describe_device(user_agent),
    )
    db.session.add(session)
    db.session.flush()
    record(staff, "staff.login", target=session, detail={"device": session.device, "second_factor": second_factor})
    return session, key


@dataclass(frozen=True)
class SessionCheck:
    """What a browser's cookie names: a live sign-in, or why it is no longer one (ended None: nothing)."""

    session: StaffSession | None = None
    ended: SessionEndReason | None = None


# Every request's first statement, built once (building it and hashing it for the compiled cache cost more
# than running it).
_BY_KEY = (select(StaffSession).where(StaffSession.key_digest == bindparam("digest"))
           .options(joinedload(StaffSession.staff).joinedload(Staff.roles)))


def check_session(staff_id: int, key: str | None) -> SessionCheck:
    """The live sign-in a browser's key names, with its member and roles (one query on every request).

    An ended record answers why it ended; a record idle for longer than the idle timeout ends here; a
    member disabled or locked behind the services' back is signed out too. last_seen_at is written at
    most once a minute."""
    if not key:
        return SessionCheck()
    session = db.session.scalar(_BY_KEY, {"digest": _digest(key)})
    if session is None or session.staff_id != staff_id:
        return SessionCheck()
    if session.ended_at is not None:
        return SessionCheck(ended=session.end_reason)
    staff = session.staff
    if not staff.is_active:
        reason = SessionEndReason.DISABLED if not staff.active else SessionEndReason.LOCKED
        _end(session, None, reason)
        return SessionCheck(ended=session.end_reason)
    now = clock.now()
    idle_since = now - session.last_seen_at
    if idle_since > current_app.config["IDLE_TIMEOUT"]:
        _end(session, None, SessionEndReason.IDLE)  # ended by the system; the audit row names the member
        return SessionCheck(ended=session.end_reason)
    if idle_since >= LAST_SEEN_EVERY:
        session.last_seen_at = now
        db.session.flush()
    return SessionCheck(session=session)


# --- ending -----------------------------------------------------------------------------------------


def _end(session: StaffSession, actor: Staff | None, reason: SessionEndReason, note: str | None = None) -> bool:
    """End one record, once: of two requests ending it together one does it and writes the audit row."""
    ended_at = clock.now()
    done = db.session.execute(
        update(StaffSession)
        .where(StaffSession.id == session.id, StaffSession.ended_at.is_(None))
        .values(ended_at=ended_at, ended_by_id=actor.id if actor is not None else None, end_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(session)
    if not done:
        return False
    detail = {"member": session.staff.email, "device": session.device, "client_addr": session.client_addr}
    if reason is SessionEndReason.SIGNED_OUT:
        record(actor, "staff.logout", target=session, detail=detail)
    else:
        record(actor, f"staff.session_ended.{reason.value}", target=session, reason=note, detail=detail)
    return True


def end_sessions(actor: Staff | None, member: Staff, *, reason: SessionEndReason,
                 keep: StaffSession | None = None, note: str | None = None) -> int:
    """End every live sign-in of member but `keep` (the browser asking), one audit row each; how many ended.

    The one way to end sign-ins in bulk: a password change or set, a lock, a role change, disabling the
    account, an admin on the staff page, the member's 「他の端末をすべてサインアウト」, a second-factor reset."""
    live = db.session.scalars(
        select(StaffSession)
        .where(StaffSession.staff_id == member.id, StaffSession.ended_at.is_(None))
        .order_by(StaffSession.id)
    ).all()
    return sum(_end(s, actor, reason, note) for s in live if keep is None or s.id != keep.id)


def sign_out(staff: Staff, session: StaffSession | None) -> None:
    """This browser's sign-in ends (and any copy of its cookie with it); the member's other browsers stay."""
    if session is not None:
        _end(session, staff, SessionEndReason.SIGNED_OUT)


def _live(member: Staff) -> list[StaffSession]:
    return list(db.session.scalars(
        select(StaffSession)
        .where(StaffSession.staff_id == member.id, StaffSession.ended_at.is_(None))
        .order_by(StaffSession.last_seen_at.desc(), StaffSession.id.desc())
    ))


@requires(ANY_STAFF)
def own_sessions(actor: Staff) -> list[StaffSession]:
    """The member's own live sign-ins, the most recently used first (「サインイン中の端末」)."""
    return _live(actor)


@requires(ANY_STAFF)
def end_own_session(actor: Staff, session_id: int, *, current: StaffSession | None) -> StaffSession:
    """The member ends one of their sign-ins in another browser, which is signed out at its next request."""
    session = db.session.get(StaffSession, session_id)
    if session is None or session.staff_id != actor.id:
        raise DomainError("その端末は見つかりません。一覧を読み込み直してから、もう一度お試しください。")
    if current is not None and session.id == current.id:
        raise DomainError("この端末は、画面右上の「ログアウト」で終了してください。")
    if session.ended_at is not None or not _end(session, actor, SessionEndReason.ENDED_BY_SELF):
        raise DomainError("その端末のサインインはすでに終了しています。")
    return session


@requires(ANY_STAFF)
def end_other_sessions(actor: Staff, *, current: StaffSession | None) -> int:
    """「他の端末をすべてサインアウト」: every sign-in of the member but this browser's ends; how many."""
    return end_sessions(actor, actor, reason=SessionEndReason.ENDED_BY_SELF, keep=current)


@requires(ADMINS)
def member_sessions(actor: Staff, member: Staff) -> list[StaffSession]:
    """A member's live sign-ins, for the admin's staff page."""
    return _live(member)


@requires(ADMINS)
def end_member_sessions(actor: Staff, member: Staff, note: str | None) -> int:
    """An admin signs a member out everywhere (on leaving the job, a lost PC), with a reason; how many ended."""
    note = require_text(note, column=AuditEvent.reason, label="理由", field="note")
    if member.id == actor.id:
        raise DomainError("ご自分の端末は「サインイン中の端末」のページで終了してください。")
    ended = end_sessions(actor, member, reason=SessionEndReason.ENDED_BY_ADMIN, note=note)
    if not ended:
        raise DomainError(f"{member.name} さんがサインイン中の端末はありません。")
    return ended


def live_counts(staff_ids) -> dict[int, int]:
    """{staff id: live sign-ins} for a page of the staff list, in one query."""
    ids = list(staff_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(StaffSession.staff_id, func.count())
        .where(StaffSession.staff_id.in_(ids), StaffSession.ended_at.is_(None))
        .group_by(StaffSession.staff_id)
    )
    return {staff_id: count for staff_id, count in rows}
