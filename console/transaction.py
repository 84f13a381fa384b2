"""One transaction per request, job or command, and the work that waits for its commit.

After indico's request handler (`indico/web/rh.py`): a service changes rows and flush()es, never
commits; what must happen only once the change is durable (a mail to send, a job to enqueue) it hands
to `after_commit`. The request (console.web.configure_requests), a job or a CLI command then ends the
unit of work once with `commit()`, which runs those hooks, or with `rollback()`, which forgets them.
No view commits by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from .extensions import db

log = logging.getLogger(__name__)

_HOOKS = "console_after_commit"


class AfterCommitWarning(RuntimeError):
    """Raised by an after-commit hook whose work waits (Redis down, say): the change itself stands.

    Its message is Japanese and is shown to the member of staff as a warning."""


def after_commit(func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run func(*args, **kwargs) once the current transaction has committed; never if it rolls back."""
    db.session.info.setdefault(_HOOKS, []).append((func, args, kwargs))


def pending() -> list[tuple[Callable[..., Any], tuple, dict]]:
    """The hooks waiting for the current transaction (for tests and diagnostics)."""
    return list(db.session.info.get(_HOOKS, ()))


def commit() -> list[str]:
    """Commit the unit of work, then run what waited for it; returns the warnings to show staff.

    A hook that fails does not undo the commit: it is logged, and an AfterCommitWarning's message is
    returned so the caller can say what waits (the mail row is recorded; a sweep sends it later).
    """
    db.session.commit()
    warnings: list[str] = []
    while hooks := db.session.info.pop(_HOOKS, None):
        for func, args, kwargs in hooks:
            try:
                func(*args, **kwargs)
            except AfterCommitWarning as exc:
                warnings.append(str(exc))
            except Exception:  # noqa: BLE001 - the change is committed; say so in the log, not as a 500
                log.exception("after-commit hook %s failed", getattr(func, "__qualname__", func))
        # A hook that ran inline (no Redis) may have changed rows and queued hooks of its own.
        if db.session.new or db.session.dirty or db.session.deleted:
            db.session.commit()
    return warnings


def rollback() -> None:
    """Roll the unit of work back and forget what waited for it."""
    db.session.rollback()
    db.session.info.pop(_HOOKS, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_hooks(session: Session, previous_transaction) -> None:
    # A rollback of the whole session (not of a SAVEPOINT) drops what waited for the commit.
    if previous_transaction.parent is None and previous_transaction.nested is False:
        session.info.pop(_HOOKS, None)
