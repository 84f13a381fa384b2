"""Who may do what (DESIGN.md, "Who uses it"), checked by each service operation itself.

The views' `required_roles` is the first fence; this is the one that counts: a view, a bulk action, a
job or a CLI command that calls an operation meets the same check, because the check is part of the
operation (Django admin's per-action permissions, indico's operations). The acting staff member is the
operation's first argument; `None` is the system itself (a scheduled job, a set-up command), allowed only
where the operation says so.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from ..models import Role, Staff
from . import DomainError

CUSTOMER_DESK = frozenset({Role.OPERATOR, Role.SUPERVISOR})
SUPERVISORS = frozenset({Role.SUPERVISOR})
COORDINATORS = frozenset({Role.DISASTER_COORDINATOR})
ADMINS = frozenset({Role.ADMIN})
# Any member of staff, for what each one does for themselves (their own sign-ins).
ANY_STAFF = frozenset(Role)

F = TypeVar("F", bound=Callable[..., Any])

# Every guarded operation by its dotted name, for the tests that call each one as each role.
OPERATIONS: dict[str, Callable[..., Any]] = {}


def role_names(roles: frozenset[Role]) -> str:
    """スーパーバイザー・オペレーター: the roles in Japanese, in DESIGN.md's order."""
    return "・".join(r.label for r in Role if r in roles)


def allowed(actor: Staff | None, roles: frozenset[Role], *, system: bool = False) -> bool:
    """True when the actor holds one of roles (or is the system and the operation allows it)."""
    if actor is None:
        return system
    return actor.has_role(*roles)


def requires(roles: frozenset[Role], *, system: bool = False, message: str | None = None) -> Callable[[F], F]:
    """Decorator of a service operation whose first argument is the acting staff member."""

    def decorate(func: F) -> F:
        refusal = message or (f"この操作は{role_names(roles)}が行います。"
                              f"必要なときは{role_names(roles)}に依頼してください。")

        @functools.wraps(func)
        def guarded(actor: Staff | None, *args: Any, **kwargs: Any) -> Any:
            if not allowed(actor, roles, system=system):
                raise DomainError(refusal)
            return func(actor, *args, **kwargs)

        guarded.required_roles = roles  # type: ignore[attr-defined]
        guarded.allows_system = system  # type: ignore[attr-defined]
        OPERATIONS[f"{func.__module__}.{func.__qualname__}"] = guarded
        return guarded  # type: ignore[return-value]

    return decorate
