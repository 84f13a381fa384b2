"""The audit trail, for supervisors: filter by period, staff member, action or customer number."""

from __future__ import annotations

from markupsafe import Markup, escape

from ..formats import jdatetime
from ..models import Role
from .base import ConsoleModelView

# Japanese names of audited actions; an action missing here shows its code.
ACTION_LABELS = {
    "staff.create": "職員登録",
    "staff.update": "職員情報変更",
    "staff.set_password": "職員パスワード設定",
    "staff.login": "ログイン",
    "staff.logout": "ログアウト",
    "staff.login_failed": "ログイン失敗",
    "staff.login_refused_locked": "ログイン拒否（ロック中）",
    "staff.login_refused_inactive": "ログイン拒否（無効）",
    "staff.locked": "職員アカウントロック",
    "staff.unlock": "職員ロック解除",
    "reissue.request": "お知らせ票再発行の受付",
    "reissue.cancel": "お知らせ票再発行の取消",
    "reissue.batch": "再発行を印刷バッチへ",
    "reissue.mailed": "再発行の発送",
    "print_batch.create": "印刷バッチ作成",
    "print_batch.download": "印刷バッチのダウンロード",
    "contract.list": "契約一覧の閲覧",
    "bill.list": "請求一覧の閲覧",
    "start_application.view": "使用開始申込の閲覧",
    "start_application.accept": "使用開始申込の承認",
    "start_application.reject": "使用開始申込の却下",
    "stop_application.accept": "使用中止申込の承認",
    "stop_application.reject": "使用中止申込の却下",
    "move.accept": "市内転居の承認",
    "contract.opened": "開栓日の記録",
    "payment_method.apply": "支払方法の変更",
    "payment_method.refuse": "支払方法の変更を受けない",
    "bill.payment_method": "請求の支払方法の切替（R16）",
}


def _action_text(_view, _context, model, _name):
    label = ACTION_LABELS.get(model.action)
    if label is None:
        return model.action
    return Markup(f"{escape(label)} <small class='text-muted'>{escape(model.action)}</small>")


class AuditEventView(ConsoleModelView):
    """監査ログ: read-only; the database itself refuses changes (trigger)."""

    required_roles = frozenset({Role.SUPERVISOR})
    column_list = ["at", "staff_email", "action", "target_type", "target_id", "customer_number", "reason"]
    column_details_list = column_list + ["detail", "request_id", "client_addr"]
    column_labels = {
        "at": "日時",
        "staff_email": "職員",
        "action": "操作",
        "target_type": "対象種別",
        "target_id": "対象ID",
        "customer_number": "お客さま番号",
        "reason": "理由",
        "detail": "詳細",
        "request_id": "リクエストID",
        "client_addr": "端末アドレス",
    }
    column_filters = ["at", "staff_email", "action", "customer_number", "target_type"]
    column_default_sort = ("at", True)
    column_formatters = {"at": lambda _v, _c, model, _n: jdatetime(model.at), "action": _action_text}
    can_export = False
