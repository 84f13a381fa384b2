"""Staff passwords (issue 16): Argon2id hashes, older hashes upgraded at sign-in, strength checked with
Japanese feedback, one's own password changed only with the current one, and sign-in refusals that tell
nobody which accounts exist or are locked."""

from __future__ import annotations

import statistics
import time

import pytest
from werkzeug.security import generate_password_hash

from console.extensions import db
from console.models import SessionEndReason
from console.services import DomainError, passwords, staff_sessions
from console.services import staff as staff_service
from tests import factories
from tests.conftest import sign_in


@pytest.mark.parametrize("weak", ["aaaaaaaaaaaa", "password1234", "123456789012", "qwertyuiopas", "short"])
def test_weak_passwords_are_refused_in_japanese(database, weak):
    admin = factories.staff("admin")
    with pytest.raises(DomainError) as refused:
        staff_service.create_staff(admin, "weak@example.jp", "弱井 太郎", ["operator"], weak)
    assert refused.value.field == "password"
    assert any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in refused.value.message)
    assert staff_service.find_staff("weak@example.jp") is None


@pytest.mark.parametrize("personal", ["yamada.taro-desk-2026-north", "Yamada Taro Umeda Desk 2026", "山田太郎-umeda-desk-2026"])
def test_a_password_holding_the_members_address_or_name_is_refused(database, personal):
    admin = factories.staff("admin")
    with pytest.raises(DomainError, match="メールアドレスや氏名"):
        staff_service.create_staff(admin, "yamada.taro@example.jp", "山田 太郎", ["operator"], personal)


def test_a_strong_password_is_stored_as_argon2id(app, database):
    admin = factories.staff("admin")
    member = staff_service.create_staff(admin, "strong@example.jp", "強井 花子", ["operator"], "umeda-lantern-ferry-2026")
    assert member.password_hash.startswith("$argon2id$")
    assert passwords.verify_password(member.password_hash, "umeda-lantern-ferry-2026") == (True, None)
    assert passwords.verify_password(member.password_hash, "umeda-lantern-ferry-2027")[0] is False


def test_an_older_hash_is_upgraded_at_the_next_sign_in(client, database):
    member = factories.staff("operator")
    member.password_hash = generate_password_hash(factories.PASSWORD)  # werkzeug's scrypt, as before issue 16
    db.session.commit()
    assert sign_in(client, member.email, factories.PASSWORD).status_code == 302
    db.session.refresh(member)
    assert member.password_hash.startswith("$argon2id$")
    assert passwords.verify_password(member.password_hash, factories.PASSWORD) == (True, None)


def test_changing_ones_own_password_needs_the_current_one(database):
    member = factories.staff("operator")
    elsewhere, _ = staff_sessions.start_session(member, client_addr="192.0.2.10", user_agent=None)
    with pytest.raises(DomainError, match="現在のパスワード"):
        staff_service.change_own_password(member, "not-my-password-at-all", "harbour-crane-evening-2026")
    with pytest.raises(DomainError):
        staff_service.change_own_password(member, factories.PASSWORD, "password1234")
    staff_service.change_own_password(member, factories.PASSWORD, "harbour-crane-evening-2026")
    assert passwords.verify_password(member.password_hash, "harbour-crane-evening-2026")[0]
    assert elsewhere.end_reason == SessionEndReason.PASSWORD_CHANGED  # the member's other sessions end


def _refusal(client, email: str, password: str) -> tuple[str, float]:
    started = time.perf_counter()
    body = sign_in(client, email, password).get_data(as_text=True)
    return body, time.perf_counter() - started


def test_unknown_wrong_locked_and_disabled_look_the_same(app, client, database):
    # At production cost, so the time a verification takes is what an attacker would measure.
    saved = {k: app.config[k] for k in factories.TEST_HASH_COST}
    app.config.update(PASSWORD_HASH_TIME_COST=3, PASSWORD_HASH_MEMORY_KIB=65536)
    try:
        member = factories.staff("operator")
        member.password_hash = passwords.hash_password(factories.PASSWORD)
        locked = factories.staff("operator")
        locked.password_hash = member.password_hash
        locked.locked_at = member.created_at
        disabled = factories.staff("operator")
        disabled.password_hash = member.password_hash
        disabled.active = False
        db.session.commit()
        cases = {
            "unknown": ("nobody-here@example.jp", "whatever-password-1"),
            "wrong": (member.email, "whatever-password-1"),
            "locked": (locked.email, factories.PASSWORD),
            "disabled": (disabled.email, factories.PASSWORD),
        }
        timings = {name: [] for name in cases}
        bodies = {}
        for _ in range(3):
            for name, (email, password) in cases.items():
                body, seconds = _refusal(client, email, password)
                bodies[name] = body
                timings[name].append(seconds)
        assert all(staff_service.SIGN_IN_REFUSED in body for body in bodies.values())
        medians = {name: statistics.median(values) for name, values in timings.items()}
        # Each refusal costs one Argon2id verification; before issue 16 a locked account answered 7× faster.
        assert max(medians.values()) < 2.5 * min(medians.values()), medians
    finally:
        app.config.update(saved)
