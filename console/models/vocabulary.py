"""The console's vocabulary: every value stored in a status or kind column, with the one Japanese label that
pages, reports, mails and the audit log show for it.

The enumerations are kept in this one module, by area in the order of the model modules, so that the words
can be read and reviewed together against DESIGN.md's glossary. The models import them from here;
`console.models` exports them all. `LabelledEnum` and `str_enum` (the column type) are in base.py.
"""

from __future__ import annotations

from .base import LabelledEnum

# --- shared (受付経路): where a start/stop application or a payment-method change came from


class Channel(LabelledEnum):
    """Where a request came from: the portal itself or a call to the customer centre."""

    PORTAL = "portal", "マイページ"
    PHONE = "phone", "電話"


# --- portal accounts (マイページ利用者) and their customer numbers


class RegistrationStep(LabelledEnum):
    """The last registration step the customer completed (R1, Q6), in order."""

    EMAIL_VERIFIED = "email_verified", "メールアドレス認証済"
    USER_INFO = "user_info", "利用者情報入力済"
    CONTRACT_INFO = "contract_info", "契約情報入力済"
    SMS_VERIFIED = "sms_verified", "SMS認証済（登録完了）"


class RegistrationStatus(LabelledEnum):
    """Where the account stands: still registering, provisional (仮登録), full (本登録) or void."""

    IN_PROGRESS = "in_progress", "登録手続中"
    PROVISIONAL = "provisional", "仮登録"
    FULL = "full", "本登録"
    VOID = "void", "仮登録取消"  # a provisional registration whose start application was rejected (R17)


class LinkSource(LabelledEnum):
    """How a customer number came to be linked to an account (R14: the console must say which)."""

    PORTAL = "portal", "お客さまがマイページで登録"
    PORTAL_RESTART = "portal_restart", "マイページでの中止・開始により自動で登録"  # Q31
    STAFF = "staff", "お客さまセンターが代理で登録"
    START_APPLICATION = "start_application", "使用開始申込の承認により登録"  # R17


# --- start and stop applications (使用開始・使用中止申込)


class ApplicationStatus(LabelledEnum):
    """An application is decided once (R18)."""

    PENDING = "pending", "未処理"
    ACCEPTED = "accepted", "承認済"
    REJECTED = "rejected", "却下"
    CANCELLED = "cancelled", "取下げ"


# --- the audit trail (監査ログ)


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


# --- bills (検針・請求) and payment-method changes (支払方法の変更)


class PaymentStatus(LabelledEnum):
    """Whether a bill has been paid (shown as paid about 10 business days after payment, R11)."""

    UNPAID = "unpaid", "未払"
    PAID = "paid", "支払済"


class NoticeChannel(LabelledEnum):
    """How the usage notice for a reading was delivered (R9)."""

    PAPER = "paper", "紙"
    PORTAL = "portal", "マイページ"


class PaymentChangeStatus(LabelledEnum):
    """A payment-method change is pending until staff apply or refuse it."""

    PENDING = "pending", "受付中"
    APPLIED = "applied", "反映済"
    REFUSED = "refused", "お断り"


# --- contacts (応対記録) and follow-ups (対応待ち)


class ContactChannel(LabelledEnum):
    """How the customer reached the desk (or the desk them)."""

    PHONE = "phone", "電話"
    COUNTER = "counter", "窓口"
    MAIL = "mail", "メール"
    LETTER = "letter", "文書"


class ContactDirection(LabelledEnum):
    """Who started the contact."""

    INBOUND = "inbound", "受信"
    OUTBOUND = "outbound", "発信"


class CallerRelation(LabelledEnum):
    """The caller's relation to the contract holder."""

    HOLDER = "holder", "本人"
    FAMILY = "family", "家族"
    MANAGER = "manager", "管理会社"
    OTHER = "other", "その他"


class FollowUpStatus(LabelledEnum):
    """A promise is open until someone closes it with a contact that says what was done."""

    OPEN = "open", "対応待ち"
    CLOSED = "closed", "完了"


# --- contracts (水道契約), name changes (名義変更) and handovers (管理会社の変更)


class HolderKind(LabelledEnum):
    """A contract holder is a person or a company (Q30)."""

    PERSON = "person", "個人"
    COMPANY = "company", "法人"


class PaymentMethod(LabelledEnum):
    """How a contract's bills are paid (Q2, Q39–Q43)."""

    BANK_TRANSFER = "bank_transfer", "口座振替"  # 口座振替
    PAYMENT_NOTICE = "payment_notice", "納入通知書"  # 納入通知書
    E_PAYMENT = "e_payment", "電子決済（マイページ）"  # マイページ上での電子決済 (PayPay)


class ChangeStatus(LabelledEnum):
    """Maker-checker states of a name change (R12)."""

    PENDING = "pending", "承認待ち"
    APPROVED = "approved", "承認済"
    RETURNED = "returned", "差戻し"


class HandoverStatus(LabelledEnum):
    """A handover case is open until every customer number has reached the new company."""

    OPEN = "open", "手続き中"
    DONE = "done", "完了"
    CANCELLED = "cancelled", "取消"


# --- outage notices (断水等のお知らせ) and emergency water supply points (応急給水拠点)


class NoticeKind(LabelledEnum):
    """Emergency (disaster, accident) or planned work."""

    EMERGENCY = "emergency", "緊急（災害・事故）"
    PLANNED = "planned", "計画（工事等）"


class Phenomenon(LabelledEnum):
    """What the customer experiences."""

    OUTAGE = "outage", "断水"
    TURBIDITY = "turbidity", "濁水"
    LOW_PRESSURE = "low_pressure", "減圧"


class NoticeMode(LabelledEnum):
    """Exercise and test versions never mail customers (DESIGN, Disaster data)."""

    ACTUAL = "actual", "実発令"
    EXERCISE = "exercise", "訓練"
    TEST = "test", "試験"


class IncidentStatus(LabelledEnum):
    """draft → published (and updated) → resolved or cancelled."""

    DRAFT = "draft", "下書き"
    PUBLISHED = "published", "発表中"
    RESOLVED = "resolved", "解消済み"
    CANCELLED = "cancelled", "取消済み"


class VersionType(LabelledEnum):
    """What a published version says about the ones before it (CAP msgType)."""

    ALERT = "alert", "第1報"
    UPDATE = "update", "続報"
    RESOLVE = "resolve", "解消"
    CANCEL = "cancel", "取消"


class SupplyPointType(LabelledEnum):
    """Kinds of emergency water supply point."""

    PERMANENT = "permanent", "常設"
    TEMPORARY_TANK = "temporary_tank", "仮設水槽"
    TEMPORARY_TAP = "temporary_tap", "仮設給水栓"
    WATER_TRUCK = "water_truck", "給水車"


class SupplyStatus(LabelledEnum):
    """Public status of a supply point (R20)."""

    CLOSED = "closed", "閉鎖"
    PREPARING = "preparing", "開設準備中"
    OPEN = "open", "開設中"
    SUSPENDED = "suspended", "一時休止"


# --- reissue of usage notices (お知らせ票の再発行)


class ReissueStatus(LabelledEnum):
    """requested → in print batch → mailed, or cancelled with a reason."""

    REQUESTED = "requested", "受付"
    IN_BATCH = "in_batch", "印刷中"
    MAILED = "mailed", "発送済"
    CANCELLED = "cancelled", "取消"


class SendTo(LabelledEnum):
    """Where the reissued notice is mailed."""

    MAILING_ADDRESS = "mailing_address", "契約の送付先"
    OTHER = "other", "指定の送付先"


# --- mails to customers (通知メール)


class NotificationKind(LabelledEnum):
    """What a mail is about."""

    START_ACCEPTED = "start_accepted", "使用開始申込完了のお知らせ"
    START_REJECTED = "start_rejected", "使用開始申込失敗のお知らせ"
    PASSWORD_RESET = "password_reset", "パスワード再設定のご案内"
    LINK_RELEASED = "link_released", "お客さま番号の登録解除のお知らせ"  # old management company (R13)
    OUTAGE = "outage", "断水等のお知らせ"  # disaster notice (R19)
    STAFF_LOCKED = "staff_locked", "職員アカウントのロックのお知らせ"  # to the member of staff (issue 16)


class DeliveryStatus(LabelledEnum):
    """pending until the SMTP server accepted it (sent) or refused it for good (failed)."""

    PENDING = "pending", "送信待ち"
    SENT = "sent", "送信済"
    FAILED = "failed", "送信失敗"


# --- report runs (レポート)


class ReportStatus(LabelledEnum):
    """queued → running → done (file ready until it expires) or failed."""

    QUEUED = "queued", "待機中"
    RUNNING = "running", "作成中"
    DONE = "done", "完了"
    FAILED = "failed", "失敗"
    EXPIRED = "expired", "期限切れ"


# --- staff (職員) and their sign-ins


class Role(LabelledEnum):
    """Role identifiers of DESIGN.md, "Who uses it"."""

    OPERATOR = "operator", "オペレーター"
    SUPERVISOR = "supervisor", "スーパーバイザー"
    DISASTER_COORDINATOR = "disaster_coordinator", "災害対策担当"
    ADMIN = "admin", "管理者"


class SessionEndReason(LabelledEnum):
    """Why a sign-in (StaffSession) ended; the label completes 「…のため終了」 on the pages."""

    SIGNED_OUT = "signed_out", "ログアウト"
    IDLE = "idle", "一定時間操作がなかった"
    ENDED_BY_SELF = "ended_by_self", "本人が別の端末から終了した"
    ENDED_BY_ADMIN = "ended_by_admin", "管理者が終了した"
    PASSWORD_CHANGED = "password_changed", "パスワードが変更された"
    PASSWORD_SET = "password_set", "管理者がパスワードを設定した"
    ROLES_CHANGED = "roles_changed", "権限が変更された"
    DISABLED = "disabled", "アカウントが無効にされた"
    LOCKED = "locked", "アカウントがロックされた"
    SECOND_FACTOR_RESET = "second_factor_reset", "二要素認証がリセットされた"
