"""The frame around every console page (the menu, the "/" key's lookup URL, the static files' URLs),
worked out once per set of roles and page instead of on every request.

Flask-Admin's menu asks each of its entries whether the member may open it (a role check each) and
whether it is the page shown, and the layout builds a dozen static-file URLs: on the lookup page that was
a quarter of the request's Python function calls (12,200 of them; 9,100 with the frame kept). The
answers depend on the member's roles, the page and where the console is mounted, nothing else, so each
is kept under those keys for the life of the process.
Flask-Admin already keeps each menu entry's URL that way (MenuView._cached_url).

That holds because every view in the menu decides access by its roles alone (views.base.RoleRequired);
tests/test_console_layout.py fails if one does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request, url_for
from flask_admin import Admin, BaseView
from flask_login import current_user

from . import base


@dataclass(frozen=True)
class MenuEntry:
    """One entry of the menu bar: a page (url) or a drop-down of pages (children)."""

    name: str
    url: str | None
    active: bool
    children: tuple[MenuEntry, ...] = ()


def _roles() -> frozenset:
    return current_user.role_names if current_user.is_authenticated else frozenset()


def _kept(admin: Admin, key: tuple, work) -> Any:
    kept = admin.__dict__.setdefault("_console_chrome", {})
    full_key = (request.script_root, *key)
    if full_key not in kept:
        kept[full_key] = work()
    return kept[full_key]


def menu(admin: Admin, shown: BaseView | None) -> tuple[MenuEntry, ...]:
    """The menu bar for the signed-in member's roles on the page `shown` (the layout's nav_menu)."""

    def build() -> tuple[MenuEntry, ...]:
        entries = []
        for item in admin.menu():
            if item.is_category():
                children = tuple(MenuEntry(child.name, child.get_url(), child.is_active(shown))
                                 for child in item.get_children())
                if children:
                    entries.append(MenuEntry(item.name, None, item.is_active(shown), children))
            elif item.is_accessible() and item.is_visible():
                entries.append(MenuEntry(item.name, item.get_url(), item.is_active(shown)))
        return tuple(entries)

    return _kept(admin, ("menu", _roles(), getattr(shown, "endpoint", None)), build)


def url_if_accessible(admin: Admin, endpoint: str) -> str | None:
    """base.url_if_accessible for the signed-in member's roles, kept (the "/" key's lookup URL)."""
    return _kept(admin, ("url", _roles(), endpoint), lambda: base.url_if_accessible(admin, endpoint))


def static_url(admin: Admin, endpoint: str, **values: str) -> str:
    """A static file's URL (endpoint "static" for the console's own, "admin.static" for Flask-Admin's)."""
    return _kept(admin, ("static", endpoint, tuple(sorted(values.items()))), lambda: url_for(endpoint, **values))


def template_helpers(admin: Admin):
    """The context processor that gives templates console_menu(), lookup_url() and static_url()."""
    helpers = {
        "console_menu": lambda shown: menu(admin, shown),
        "lookup_url": lambda: url_if_accessible(admin, "lookup.index"),
        "static_url": lambda endpoint, **values: static_url(admin, endpoint, **values),
    }
    return lambda: helpers
