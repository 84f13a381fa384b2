"""The customer-centre console: create_app builds a configured Flask application."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from .config import instance_path, load_config

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app: config, extensions, views, CLI; nothing else happens at import time."""
    app = Flask(
        __name__,
        instance_path=instance_path(),
        template_folder=str(ROOT / "templates"),
    )
    app.config.update(load_config(app.instance_path, overrides))
    os.makedirs(app.instance_path, exist_ok=True)

    from . import boundary, cli, errors, web
    from .views import configure_views

    boundary.configure_boundary(app)  # its id converter must exist before any route
    web.configure_database(app)
    web.configure_i18n(app)
    web.configure_auth(app)
    web.configure_requests(app)
    configure_views(app)
    web.configure_limits(app)  # wraps the sign-in view, so after the views
    errors.configure_errors(app)
    cli.configure_cli(app)
    return app
