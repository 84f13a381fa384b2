"""Staff passwords: Argon2id hashes (older hashes upgraded at the next sign-in) and a strength check with
Japanese feedback (zxcvbn score 3 or more, never the member's own e-mail or name). Issue 16, OWASP ASVS 2.4."""

from __future__ import annotations

import functools
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from werkzeug.security import check_password_hash
from zxcvbn import zxcvbn

from . import DomainError

MIN_LENGTH = 12
MIN_SCORE = 3

# zxcvbn's warnings, in the words the desk reads.
_WARNINGS = {
    "Straight rows of keys are easy to guess.": "キーボードの並び（qwerty など）は推測されやすいです。",
    "Short keyboard patterns are easy to guess.": "キーボード上の短い並びは推測されやすいです。",
    'Repeats like "aaa" are easy to guess.': "「aaa」のような同じ文字の繰り返しは推測されやすいです。",
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".':
        "「abcabc」のような繰り返しは推測されやすいです。",
    "Sequences like abc or 6543 are easy to guess.": "「abc」「6543」のような連続した並びは推測されやすいです。",
    "Recent years are easy to guess.": "最近の年は推測されやすいです。",
    "Dates are often easy to guess.": "日付は推測されやすいです。",
    "This is a top-10 common password.": "非常によく使われるパスワードです。",
    "This is a top-100 common password.": "非常によく使われるパスワードです。",
    "This is a very common password.": "よく使われるパスワードです。",
    "This is similar to a commonly used password.": "よく使われるパスワードに似ています。",
    "A word by itself is easy to guess.": "単語一つだけでは推測されやすいです。",
    "Names and surnames by themselves are easy to guess.": "人名だけでは推測されやすいです。",
    "Common names and surnames are easy to guess.": "よくある人名は推測されやすいです。",
}
_ADVICE = "関係のない単語を3つ以上つなげるなど、長く推測しにくいものにしてください。"


@functools.cache
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def hasher() -> PasswordHasher:
    """The Argon2id hasher with this installation's cost settings."""
    config = current_app.config
    return _hasher(config["PASSWORD_HASH_TIME_COST"], config["PASSWORD_HASH_MEMORY_KIB"], 1)


def hash_password(password: str) -> str:
    """An Argon2id hash of the password."""
    return hasher().hash(password)


def verify_password(stored: str, password: str) -> tuple[bool, str | None]:
    """(matches, a new hash to store or None): an older scrypt/pbkdf2 hash or weaker Argon2 parameters are
    upgraded once the password has been shown to match."""
    if stored.startswith("$argon2"):
        try:
            hasher().verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False, None
        return True, hash_password(password) if hasher().check_needs_rehash(stored) else None
    if check_password_hash(stored, password):
        return True, hash_password(password)
    return False, None


def spend_verify_time(password: str) -> None:
    """Cost an unknown address or a locked account as much time as a wrong password (no enumeration)."""
    verify_password(_dummy_hash(), password)


@functools.cache
def _dummy_hash_for(time_cost: int, memory_kib: int) -> str:
    return _hasher(time_cost, memory_kib, 1).hash("not-a-real-password-for-timing")


def _dummy_hash() -> str:
    config = current_app.config
    return _dummy_hash_for(config["PASSWORD_HASH_TIME_COST"], config["PASSWORD_HASH_MEMORY_KIB"])


def _fold(text: str | None) -> str:
    # Letters and digits only, case-folded: "Yamada Taro" and "yamada.taro" are the same here.
    return re.sub(r"[\W_]+", "", text or "").casefold()


def check_strength(password: str | None, *, email: str, name: str) -> None:
    """Refuse (DomainError on field "password") a password that is short, guessable, or holds the
    member's e-mail address, its local part or name."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        raise DomainError(f"パスワードは{MIN_LENGTH}文字以上にしてください。", field="password")
    folded = _fold(password)
    local = email.split("@")[0]
    personal = [email, local, name, *name.split()]
    for value in personal:
        value = _fold(value)
        if len(value) >= 3 and value in folded:
            raise DomainError("パスワードにご自分のメールアドレスや氏名を含めないでください。", field="password")
    result = zxcvbn(password[:100], user_inputs=[v for v in personal if v])
    if result["score"] < MIN_SCORE:
        warning = _WARNINGS.get(result["feedback"].get("warning") or "", "推測されやすいパスワードです。")
        raise DomainError(f"{warning}{_ADVICE}", field="password")
