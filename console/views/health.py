"""GET /healthz: whether the database and Redis answer (for load balancers and operators); and GET
/favicon.ico, which every browser asks for on every page (issue 15: it was a 404 each time)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, send_from_directory
from sqlalchemy import text

from .. import transaction
from ..extensions import db

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    """200 when the database answers; Redis is reported, and only required when configured."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy; the type goes in the report
        transaction.rollback()
        checks["database"] = f"error: {type(exc).__name__}"
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        from ..jobs.queue import redis_connection

        try:
            redis_connection().ping()
            checks["redis"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["redis"] = f"error: {type(exc).__name__}"
    else:
        checks["redis"] = "not configured (jobs run inline)"
    healthy = checks["database"] == "ok" and not checks["redis"].startswith("error")
    return jsonify(status="ok" if healthy else "error", checks=checks), 200 if healthy else 503


@bp.route("/favicon.ico")
def favicon():
    """The console's icon, from console/static (cached for a day: it never carries personal data)."""
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                               max_age=86400)
