"""The console's home page: what each role can do today."""

from __future__ import annotations

from flask_admin import expose
from flask_login import current_user

from ..models import Role
from ..reports import dashboard
from ..services import contacts as contacts_service
from ..services import follow_ups
from .base import ConsoleIndexView, url_if_accessible


class HomeView(ConsoleIndexView):
    """Home page for every signed-in staff member; its menu and content follow the roles held."""

    def is_visible(self) -> bool:
        # The brand at the left of the menu leads home; a ホーム entry would only cost the menu its one row.
        return False

    def _link(self, endpoint: str) -> str | None:
        # Link a count only to a list this staff member may open (and that exists in this build).
        return url_if_accessible(self.admin, endpoint)

    @expose("/")
    def index(self):
        roles = current_user.role_names
        labels = [Role(r).label for r in sorted(roles)]
        tiles = [(tile, self._link(tile.endpoint)) for tile in dashboard.tiles(roles)]
        supervisor = Role.SUPERVISOR in roles
        charts = dashboard.last_30_days() if supervisor else []
        desk_figures = dashboard.desk_figures() if supervisor else None
        desk = bool(roles & {Role.OPERATOR, Role.SUPERVISOR})
        lists = follow_ups.open_lists(current_user, limit=10) if desk else None
        return self.render("console/home.html", role_labels=labels, tiles=tiles, charts=charts, follow_up_lists=lists, desk_figures=desk_figures,
                           customer_label=contacts_service.customer_label)
