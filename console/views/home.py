"""The console's home page: what each role can do today."""

from __future__ import annotations

from flask_admin import expose
from flask_login import current_user

from ..models.staff import ROLE_LABELS
from .base import ConsoleIndexView


class HomeView(ConsoleIndexView):
    """Home page for every signed-in staff member; its menu and content follow the roles held."""

    @expose("/")
    def index(self):
        roles = [ROLE_LABELS[r] for r in sorted(current_user.role_names)]
        return self.render("console/home.html", role_labels=roles)
