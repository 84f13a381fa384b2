"""The append-only audit trail: who saw or changed what, when, for which customer, and why."""

from __future__ import annotations

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import BigPk, LabelledEnum, StaffId, Timestamp


class AuditAction(LabelledEnum):
    """Every audited action, with the word the audit log and its export show for it."""

    STAFF_CREATE = "staff.create", "職員登録"
    STAFF_UPDATE = "staff.update", "職員情報変更"
    STAFF_SET_PASSWORD = "staff.set_password", "職員パスワード設定"
    STAFF_LOGIN = "staff.login", "ログイン"
    STAFF_LOGOUT = "staff.logout", "ログアウト"
    STAFF_LOGIN_FAILED = "staff.login_failed", "ログイン失敗"
    STAFF_LOGIN_REFUSED_LOCKED = "staff.login_refused_locked", "ログイン拒否（ロック中）"
    STAFF_LOGIN_REFUSED_INACTIVE = "staff.login_refused_inactive", "ログイン拒否（無効）"
    STAFF_LOCKED = "staff.locked", "職員アカウントロック"
    STAFF_UNLOCK = "staff.unlock", "職員ロック解除"
    STAFF_SECOND_FACTOR_ENROLLED = "staff.second_factor_enrolled", "二要素認証の登録"
    STAFF_SECOND_FACTOR_REFUSED = "staff.second_factor_refused", "確認コードの誤り"
    STAFF_RECOVERY_CODE_USED = "staff.recovery_code_used", "リカバリーコードの使用"
    STAFF_SECOND_FACTOR_RESET = "staff.second_factor_reset", "二要素認証のリセット"
    STAFF_PASSWORD_CHANGED = "staff.password_changed", "パスワード変更（本人）"
    # A sign-in (staff_session) ended: staff.session_ended.<SessionEndReason>; a sign-out is staff.logout.
    STAFF_SESSION_ENDED_IDLE = "staff.session_ended.idle", "ログインの終了（一定時間操作なし）"
    STAFF_SESSION_ENDED_BY_SELF = "staff.session_ended.ended_by_self", "ログインの終了（本人が別の端末から）"
    STAFF_SESSION_ENDED_BY_ADMIN = "staff.session_ended.ended_by_admin", "ログインの終了（管理者）"
    STAFF_SESSION_ENDED_PASSWORD_CHANGED = "staff.session_ended.password_changed", "ログインの終了（パスワード変更）"
    STAFF_SESSION_ENDED_PASSWORD_SET = "staff.session_ended.password_set", "ログインの終了（管理者のパスワード設定）"
    STAFF_SESSION_ENDED_ROLES_CHANGED = "staff.session_ended.roles_changed", "ログインの終了（権限の変更）"
    STAFF_SESSION_ENDED_DISABLED = "staff.session_ended.disabled", "ログインの終了（アカウント無効化）"
    STAFF_SESSION_ENDED_LOCKED = "staff.session_ended.locked", "ログインの終了（アカウントロック）"
    STAFF_SESSION_ENDED_SECOND_FACTOR_RESET = ("staff.session_ended.second_factor_reset",
                                               "ログインの終了（二要素認証のリセット）")
    LOOKUP_SEARCH = "lookup.search", "お客さま検索"
    CUSTOMER_VIEW = "customer.view", "お客さま情報の閲覧"
    CUSTOMER_IDENTITY_CONFIRMED = "customer.identity_confirmed", "本人確認"
    CUSTOMER_REVEAL = "customer.reveal", "マスク解除（個人情報の表示）"
    LOCKED_ACCOUNT_LIST = "locked_account.list", "ロック中の利用者一覧の閲覧"
    CONTRACT_LIST = "contract.list", "契約一覧の閲覧"
    BILL_LIST = "bill.list", "請求一覧の閲覧"
    REGISTRATION_CHECK = "registration.check", "マイページ登録の照合確認"
    ACCOUNT_UNLOCK = "account.unlock", "ロック解除"
    ACCOUNT_PASSWORD_RESET_MAIL = "account.password_reset_mail", "パスワード再設定メール"
    LINK_ADD = "link.add", "お客さま番号の追加登録"
    LINK_REMOVE = "link.remove", "お客さま番号の登録解除"
    LINK_SET_MAIN = "link.set_main", "メイン登録の変更"
    NAME_CHANGE_REQUEST = "name_change.request", "名義変更の受付"
    NAME_CHANGE_VIEW = "name_change.view", "名義変更の閲覧"
    NAME_CHANGE_LIST = "name_change.list", "名義変更一覧の閲覧"
    NAME_CHANGE_APPROVE = "name_change.approve", "名義変更の承認"
    NAME_CHANGE_RETURN = "name_change.return", "名義変更の差戻し"
    HANDOVER_OPEN = "handover.open", "管理会社変更の開始"
    HANDOVER_RELEASE = "handover.release", "管理会社変更（旧会社の登録解除）"
    HANDOVER_LINK_NEW = "handover.link_new", "管理会社変更（新会社への登録）"
    HANDOVER_CHECK_ACCOUNT = "handover.check_account", "管理会社変更（新会社の利用者の確認）"
    REISSUE_REQUEST = "reissue.request", "お知らせ票再発行の受付"
    REISSUE_VIEW = "reissue.view", "お知らせ票再発行の閲覧"
    REISSUE_LIST = "reissue.list", "お知らせ票再発行一覧の閲覧"
    REISSUE_CANCEL = "reissue.cancel", "お知らせ票再発行の取消"
    REISSUE_BATCH = "reissue.batch", "再発行を印刷バッチへ"
    REISSUE_MAILED = "reissue.mailed", "再発行の発送"
    PRINT_BATCH_CREATE = "print_batch.create", "印刷バッチ作成"
    PRINT_BATCH_VIEW = "print_batch.view", "印刷バッチの閲覧"
    PRINT_BATCH_DOWNLOAD = "print_batch.download", "印刷バッチのダウンロード"
    START_APPLICATION_RECORD = "start_application.record", "使用開始申込の受付（電話）"
    START_APPLICATION_VIEW = "start_application.view", "使用開始申込の閲覧"
    START_APPLICATION_LIST = "start_application.list", "使用開始申込一覧の閲覧"
    START_APPLICATION_NOT_STARTED = "start_application.not_started", "承認済・未開栓一覧の閲覧"
    START_APPLICATION_ACCEPT = "start_application.accept", "使用開始申込の承認"
    START_APPLICATION_REJECT = "start_application.reject", "使用開始申込の却下"
    STOP_APPLICATION_RECORD = "stop_application.record", "使用中止申込の受付（電話）"
    STOP_APPLICATION_LIST = "stop_application.list", "使用中止申込一覧の閲覧"
    STOP_APPLICATION_ACCEPT = "stop_application.accept", "使用中止申込の承認"
    STOP_APPLICATION_REJECT = "stop_application.reject", "使用中止申込の却下"
    MOVE_ACCEPT = "move.accept", "市内転居の承認"
    CONTRACT_OPENED = "contract.opened", "開栓日の記録"
    PAYMENT_METHOD_APPLY = "payment_method.apply", "支払方法の変更"
    PAYMENT_METHOD_LIST = "payment_method.list", "支払方法変更一覧の閲覧"
    PAYMENT_METHOD_REFUSE = "payment_method.refuse", "支払方法の変更を受けない"
    BILL_PAYMENT_METHOD = "bill.payment_method", "請求の支払方法の切替（R16）"
    OUTAGE_DRAFT = "outage.draft", "断水等のお知らせの下書き保存"
    OUTAGE_DISCARD_DRAFT = "outage.discard_draft", "断水等のお知らせの下書き破棄"
    # Publishing records outage.<VersionType>: the first report, a follow-up, the all-clear, a withdrawal.
    OUTAGE_ALERT = "outage.alert", "断水等のお知らせの発表（第1報）"
    OUTAGE_UPDATE = "outage.update", "断水等のお知らせの続報"
    OUTAGE_RESOLVE = "outage.resolve", "断水等のお知らせの解消"
    OUTAGE_CANCEL = "outage.cancel", "断水等のお知らせの取消"
    OUTAGE_RETRY_FAILED = "outage.retry_failed", "送信失敗メールの再送"
    SUPPLY_POINT_CREATE = "supply_point.create", "応急給水拠点の登録"
    SUPPLY_POINT_UPDATE = "supply_point.update", "応急給水拠点の変更"
    SUPPLY_POINT_STATUS = "supply_point.status", "応急給水拠点の状況変更"
    REPORT_REQUEST = "report.request", "レポート作成の依頼"
    REPORT_EXPORT = "report.export", "レポートの出力"
    REPORT_DOWNLOAD = "report.download", "レポートのダウンロード"
    AUDIT_PARTITIONS_CREATED = "audit.partitions_created", "監査ログの月別区画の作成"
    AUDIT_ARCHIVED = "audit.archived", "古い監査ログの切り離し（保管）"
    CONTACT_RECORD = "contact.record", "応対記録の登録"
    CONTACT_CORRECT = "contact.correct", "応対記録の訂正"
    CONTACT_LINK = "contact.link", "応対記録のお客さまへの紐付け"
    CONTACT_VIEW = "contact.view", "応対記録の閲覧"
    CONTACT_LIST = "contact.list", "応対履歴の閲覧"
    CONTACT_MEMO_REMOVED = "contact.memo_removed", "応対メモの削除（保存期間の経過）"
    CONTACT_CATEGORY_CREATE = "contact_category.create", "応対分類の登録"
    CONTACT_CATEGORY_UPDATE = "contact_category.update", "応対分類の変更"
    FOLLOW_UP_OPEN = "follow_up.open", "対応待ちの登録"
    FOLLOW_UP_TAKE = "follow_up.take", "対応待ちの引き受け"
    FOLLOW_UP_REASSIGN = "follow_up.reassign", "対応待ちの担当変更"
    FOLLOW_UP_CLOSE = "follow_up.close", "対応待ちの完了"
    FOLLOW_UP_LIST = "follow_up.list", "対応待ち一覧の閲覧"
    FOLLOW_UP_VIEW = "follow_up.view", "対応待ちの閲覧"


class AuditTarget(LabelledEnum):
    """What an audit entry is about: a table's name, or a thing that has no row of its own (a move)."""

    STAFF = "staff", "職員"
    STAFF_SESSION = "staff_session", "職員のログイン（端末）"
    PORTAL_ACCOUNT = "portal_account", "マイページ利用者"
    ACCOUNT_LINK = "account_link", "お客さま番号の登録"
    CONTRACT = "contract", "水道契約"
    CONTRACT_HOLDER = "contract_holder", "契約者履歴"
    BILL = "bill", "検針・請求"
    PAYMENT_METHOD_CHANGE = "payment_method_change", "支払方法の変更"
    NAME_CHANGE = "name_change", "名義変更"
    HANDOVER = "handover", "管理会社の変更"
    HANDOVER_ITEM = "handover_item", "管理会社の変更（お客さま番号）"
    START_APPLICATION = "start_application", "使用開始申込"
    STOP_APPLICATION = "stop_application", "使用中止申込"
    MOVE = "move", "市内転居"
    REISSUE_REQUEST = "reissue_request", "お知らせ票の再発行"
    REISSUE_ITEM = "reissue_item", "再発行の対象月"
    PRINT_BATCH = "print_batch", "印刷バッチ"
    OUTAGE_NOTICE = "outage_notice", "断水等のお知らせ"
    OUTAGE_NOTICE_VERSION = "outage_notice_version", "断水等のお知らせ（版）"
    OUTAGE_AREA = "outage_area", "断水等の地域"
    SUPPLY_POINT = "supply_point", "応急給水拠点"
    SUPPLY_POINT_STATUS = "supply_point_status", "応急給水拠点の状況"
    NOTIFICATION = "notification", "通知メール"
    DELIVERY = "delivery", "メール配信"
    REPORT_RUN = "report_run", "レポート"
    STAFF_ROLE = "staff_role", "職員の役割"
    AUDIT_EVENT = "audit_event", "監査ログ"
    CONTACT = "contact", "応対記録"
    CONTACT_CATEGORY = "contact_category", "応対分類"
    FOLLOW_UP = "follow_up", "対応待ち"


class AuditEvent(db.Model):
    """One audited read or change; the database refuses UPDATE and DELETE on this table."""

    __tablename__ = "audit_event"

    id: Mapped[BigPk]
    at: Mapped[Timestamp]
    staff_id: Mapped[StaffId | None]
    # Copied so the entry stays readable whatever later happens to the staff row.
    staff_email: Mapped[str | None] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(40))
    customer_number: Mapped[str | None] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(36))
    client_addr: Mapped[str | None] = mapped_column(String(45))

    staff: Mapped["Staff | None"] = relationship()  # noqa: F821

    @property
    def actor_name(self) -> str | None:
        """Who acted, by name as every page shows staff (the e-mail copy if the name is unknown); None: the system."""
        if self.staff is not None:
            return self.staff.name or self.staff.email
        return self.staff_email

    __table_args__ = (
        Index("ix_audit_event_at", "at"),
        Index("ix_audit_event_customer_at", "customer_number", "at"),
        Index("ix_audit_event_staff_at", "staff_id", "at"),
        Index("ix_audit_event_action_at", "action", "at"),
        # "Who viewed" on the customer view (services/customer._audit_rows): newest first per target.
        Index("ix_audit_event_target_at", "target_type", "target_id", "at"),
    )


def not_an_audit_partition(name, type_, _parent_names) -> bool:
    """Alembic's include_name: the audit trail's monthly partitions (PostgreSQL, made at run time by
    services/audit_partitions) and their indexes are not in the models; the partitioned table is."""
    if type_ == "table":
        return not (name or "").startswith("audit_event_")
    return True
