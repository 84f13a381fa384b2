"""Where jobs run: on rq workers when CONSOLE_REDIS_URL is set, inline in the caller otherwise.

Enqueue only after the caller has committed: an inline job sees the committed rows and commits its
own work; a queued job runs later in a worker with its own app context.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import current_app, has_app_context
from redis import Redis
from rq import Queue


class JobsUnavailable(RuntimeError):
    """Redis is configured but cannot be reached; the caller tells the staff member."""


def redis_connection() -> Redis:
    """A Redis client for the configured URL (one connection pool per process and URL)."""
    return _redis_for(current_app.config["REDIS_URL"])


@functools.cache
def _redis_for(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)


def get_queue() -> Queue | None:
    """The rq queue, or None when jobs run inline."""
    if not current_app.config.get("REDIS_URL"):
        return None
    return Queue(current_app.config["RQ_QUEUE"], connection=redis_connection())


def enqueue(func: Callable, *args: Any, job_id: str | None = None, **kwargs: Any) -> str:
    """Run func(*args, **kwargs) as a job; returns "queued" or "done" (ran inline)."""
    queue = get_queue()
    if queue is None:
        func(*args, **kwargs)
        return "done"
    try:
        queue.enqueue(func, args=args, kwargs=kwargs, job_id=job_id, result_ttl=86400, failure_ttl=7 * 86400)
    except Exception as exc:  # redis.exceptions.ConnectionError and friends
        raise JobsUnavailable("ジョブ実行基盤（Redis）に接続できません。しばらくしてから再度お試しください。") from exc
    return "queued"


def schedule_at(when: datetime, func: Callable, *args: Any, job_id: str, **kwargs: Any) -> str | None:
    """Have a worker started with the scheduler run func at when; None when jobs run inline (nothing to schedule).

    The same job_id scheduled again replaces the earlier entry, so every worker may schedule it at start.
    """
    queue = get_queue()
    if queue is None:
        return None
    try:
        queue.enqueue_at(when, func, *args, job_id=job_id, result_ttl=86400, failure_ttl=7 * 86400, **kwargs)
    except Exception as exc:  # redis.exceptions.ConnectionError and friends
        raise JobsUnavailable("ジョブ実行基盤（Redis）に接続できません。しばらくしてから再度お試しください。") from exc
    return job_id


@functools.cache
def _worker_app():
    from .. import create_app

    return create_app()


def with_app_context(func: Callable) -> Callable:
    """Give a job an app context: the caller's when run inline, a per-process app in a worker."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if has_app_context():
            return func(*args, **kwargs)
        with _worker_app().app_context():
            return func(*args, **kwargs)

    return wrapper
