"""Flask-Admin views, the sign-in pages and the health check, registered on an app."""

from __future__ import annotations

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from ..extensions import db
from ..models import AuditEvent, PortalAccount, Staff
from ..web import csp_nonce
from . import auth, chrome, health, public
from .accounts import LockedAccountView
from .applications import ApplicationView
from .audit import AuditEventView
from .changes import HandoverView, NameChangeView
from .contacts import ContactCategoryView, ContactView, FollowUpView
from .customer import CustomerPageView, LookupView, RegistrationCheckView
from .disaster import OutageDeskView, OutageNoticeView, SupplyPointView
from .home import HomeView
from .labels import label_helpers
from .listing import BillListView, ContractListView
from .me import OwnAccountView
from .reissue import PrintBatchView, ReissueView
from .reports import ReportView
from .staff import StaffView

# The menu keeps to one row at 1366 px for any set of roles: besides the lookup, the application queue and
# the reports, pages are grouped in drop-downs.
CUSTOMER_CATEGORY = "お客さま"
CHANGES_CATEGORY = "契約の変更"
REISSUE_CATEGORY = "再発行"
DISASTER_CATEGORY = "災害対応"
ADMIN_CATEGORY = "管理"


def configure_views(app: Flask) -> Admin:
    """Register every page. Flask-Admin binds views to one app, so each app gets its own Admin."""
    app.context_processor(label_helpers)
    app.register_blueprint(auth.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(public.bp)
    admin = Admin(
        app,
        name="水道お客さまセンター",
        url="/",
        index_view=HomeView(name="ホーム", url="/", endpoint="admin"),
        theme=Bootstrap4Theme(base_template="console/master.html", fluid=True),
        translations_path=app.config["ADMIN_TRANSLATIONS_DIR"],
        csp_nonce_generator=csp_nonce,
    )
    admin.add_view(LookupView(name="お客さま検索", endpoint="lookup", url="/lookup"))
    admin.add_view(CustomerPageView(name="お客さま情報", endpoint="customer", url="/customer"))
    admin.add_view(RegistrationCheckView(name="登録トラブル確認", endpoint="registration_check", url="/registration-check",
                                         category=CUSTOMER_CATEGORY))
    admin.add_view(LockedAccountView(PortalAccount, db, name="ロック中の利用者", endpoint="locked_accounts",
                                     url="/locked-accounts", category=CUSTOMER_CATEGORY))
    admin.add_view(ContractListView(name="契約一覧", endpoint="contracts", url="/contracts", category=CUSTOMER_CATEGORY))
    admin.add_view(BillListView(name="請求一覧", endpoint="bills", url="/bills", category=CUSTOMER_CATEGORY))
    admin.add_view(ContactView(name="応対履歴（未特定）", endpoint="contacts", url="/contacts",
                               category=CUSTOMER_CATEGORY))
    admin.add_view(FollowUpView(name="対応待ち", endpoint="follow_ups", url="/follow-ups", category=CUSTOMER_CATEGORY))
    admin.add_view(ApplicationView(name="使用開始・中止申込", endpoint="applications", url="/applications"))
    admin.add_view(NameChangeView(name="名義変更", endpoint="name_changes", url="/name-changes", category=CHANGES_CATEGORY))
    admin.add_view(HandoverView(name="管理会社の変更", endpoint="handovers", url="/handovers", category=CHANGES_CATEGORY))
    admin.add_view(ReissueView(name="再発行の受付", endpoint="reissue", url="/reissue", category=REISSUE_CATEGORY))
    admin.add_view(PrintBatchView(name="印刷バッチ", endpoint="print_batches", url="/print-batches",
                                  category=REISSUE_CATEGORY))
    admin.add_view(OutageNoticeView(name="断水等のお知らせ", endpoint="outage_notices", url="/disaster/notices",
                                    category=DISASTER_CATEGORY))
    admin.add_view(OutageDeskView(name="断水等のお知らせ（閲覧）", endpoint="outages", url="/outages",
                                  category=DISASTER_CATEGORY))
    admin.add_view(SupplyPointView(name="応急給水拠点", endpoint="supply_points", url="/disaster/supply-points",
                                   category=DISASTER_CATEGORY))
    admin.add_view(ReportView(name="レポート", endpoint="reports", url="/reports"))
    admin.add_view(AuditEventView(AuditEvent, db, name="監査ログ", endpoint="audit", url="/audit", category=ADMIN_CATEGORY))
    admin.add_view(StaffView(Staff, db, name="職員", endpoint="staff", url="/staff", category=ADMIN_CATEGORY))
    admin.add_view(OwnAccountView(name="サインイン中の端末", endpoint="me", url="/me"))
    app.context_processor(chrome.template_helpers(admin))
    admin.add_view(ContactCategoryView(name="応対分類", endpoint="contact_categories", url="/contact-categories",
                                       category=ADMIN_CATEGORY))
    return admin

