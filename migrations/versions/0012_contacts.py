"""Contacts (応対履歴), their categories and follow-ups (対応待ち) (issue 14, DESIGN.md R21, R22).

The contact table is append-only in the database, like the audit trail: the only UPDATEs allowed are the
retention job's removal of a memo (memo to NULL, memo_removed_at set) and the one-time link of a contact
taken before the caller was identified (contract_id/account_id from nothing to a customer). The
categories start from the portal FAQ's sections, each with the questions it covers.

Revision ID: 0012_contacts
Revises: 0011_staff_sessions
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_contacts"
down_revision = "0011_staff_sessions"
branch_labels = None
depends_on = None

# Columns nobody may change once a contact is written.
FIXED_COLUMNS = ("id", "at", "staff_id", "channel", "direction", "category_id", "caller_relation", "caller_phone",
                 "outcome", "corrects_id", "outage_notice_id")
# What may change, and only this way: the memo is removed (never rewritten), a contact on nobody is linked once.
ALLOWED_CHANGE = (
    "(NEW.memo IS NULL OR NEW.memo IS OLD.memo)"
    " AND (NEW.memo_removed_at IS OLD.memo_removed_at OR (OLD.memo_removed_at IS NULL AND NEW.memo IS NULL))"
    " AND ((NEW.contract_id IS OLD.contract_id AND NEW.account_id IS OLD.account_id)"
    " OR (OLD.contract_id IS NULL AND OLD.account_id IS NULL))"
)
PG_ALLOWED_CHANGE = ALLOWED_CHANGE.replace(" IS OLD.", " IS NOT DISTINCT FROM OLD.")

CONTACT_GUARD_PG = f"""
CREATE FUNCTION contact_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND (to_jsonb(NEW) - 'memo' - 'memo_removed_at' - 'contract_id' - 'account_id')
           = (to_jsonb(OLD) - 'memo' - 'memo_removed_at' - 'contract_id' - 'account_id')
       AND {PG_ALLOWED_CHANGE} THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'contact is append-only: % refused', TG_OP;
END;
$$;
CREATE TRIGGER contact_no_change BEFORE UPDATE OR DELETE ON contact
    FOR EACH ROW EXECUTE FUNCTION contact_append_only();
CREATE TRIGGER contact_no_truncate BEFORE TRUNCATE ON contact
    FOR EACH STATEMENT EXECUTE FUNCTION contact_append_only();
"""

CONTACT_GUARD_SQLITE = [
    "CREATE TRIGGER contact_no_update BEFORE UPDATE ON contact WHEN NOT ("
    + " AND ".join(f"NEW.{c} IS OLD.{c}" for c in FIXED_COLUMNS) + f" AND {ALLOWED_CHANGE})"
    + " BEGIN SELECT RAISE(ABORT, 'contact is append-only: UPDATE refused'); END",
    """CREATE TRIGGER contact_no_delete BEFORE DELETE ON contact
       BEGIN SELECT RAISE(ABORT, 'contact is append-only: DELETE refused'); END""",
]

CATEGORIES = [
    ('portal', 'マイページについて', 10, [
        (1, 'マイページとはどのようなシステムですか'),
        (2, 'マイページでは具体的にどのような機能がありますか'),
    ]),
    ('registration', '利用登録', 20, [
        (3, 'マイページは誰でも登録ができますか'),
        (4, 'マイページに登録できません（すでに水道をご使用されているお客さま）'),
        (5, '利用登録時の契約情報に入力した内容が誤っていた場合、誤った内容に更新されますか'),
        (6, '利用登録手続き（使用開始と同時申込を除く）の途中で終了した場合、再度登録は可能ですか'),
        (7, '使用開始と同時申込を行った後に、「使用開始申込失敗」のメールが届きましたが、マイページの利用登録はできていますか'),
        (8, '携帯電話を持っていないがマイページの登録はできますか'),
        (9, '同じメールアドレスで、パスワードだけを変えて、複数の利用登録はできますか'),
        (10, 'マイページで使用開始同時申込を行い、仮登録の状態だがいつ本登録ができますか'),
        (11, 'お客さま番号がわかりません'),
        (12, '調定番号がわかりません'),
        (13, 'メールアドレスの認証コードが届きません'),
        (14, 'SMS認証コードが届きません'),
        (15, 'SMS認証コードの有効期限が切れてしまった場合、再発行はできますか。'),
    ]),
    ('login', 'ログイン・パスワード', 30, [
        (16, 'メールアドレスを忘れました'),
        (17, 'パスワードを忘れました'),
        (18, 'パスワードを間違えてロックがかかりました'),
    ]),
    ('viewing', 'お客さま情報の閲覧', 40, [
        (19, '過去データは何年分まで確認できますか'),
        (20, '過去のお客さま番号の情報はマイページで閲覧できますか'),
        (21, 'マイページ上でお客さま番号はどこから確認ができますか'),
        (22, 'マイページ上で調定番号はどこから確認ができますか'),
        (23, '水道料金を支払ったのですが、支払い状況が「支払済」になりません。いつ頃更新されますか'),
        (24, '「最新のご利用情報」が更新されません'),
        (25, '口座振替情報はPDF出力できますか'),
        (26, '「過去の利用履歴」で一部の月（使用期間）が表示されていません'),
        (27, '「ホーム」や「実績」に表示されている情報を別のお客さま番号の情報が表示されるようにしたいです'),
        (28, 'お客さま番号を複数登録しており、1件のお客さま番号を削除したら、削除したお客さま番号の使用水量や料金が閲覧できなくなりました'),
    ]),
    ('name_change', '名義変更・管理会社の変更', 50, [
        (29, '使用者が変更となりましたが、マイページから変更手続きはできますか'),
        (30, '【管理会社の場合】ビルの管理会社が変わった場合、マイページではどのような手続きをしたらよいですか'),
    ]),
    ('start_stop', '使用開始・中止・転居', 60, [
        (29, '使用者が変更となりましたが、マイページから変更手続きはできますか'),
        (31, '同一の使用者が、現在使用している場所の中止申請を行い、その後、同じ場所で開始申請をした場合、使用者の情報及び使用水量や水道料金等の情報は引き継がれますか'),
        (32, 'すでにマイページへ登録していますが、電話で使用開始申請をした場合、自動的にマイページへお客さま番号は追加されますか'),
    ]),
    ('customer_numbers', 'お客さま番号の登録・管理', 70, [
        (9, '同じメールアドレスで、パスワードだけを変えて、複数の利用登録はできますか'),
        (20, '過去のお客さま番号の情報はマイページで閲覧できますか'),
        (27, '「ホーム」や「実績」に表示されている情報を別のお客さま番号の情報が表示されるようにしたいです'),
        (28, 'お客さま番号を複数登録しており、1件のお客さま番号を削除したら、削除したお客さま番号の使用水量や料金が閲覧できなくなりました'),
        (32, 'すでにマイページへ登録していますが、電話で使用開始申請をした場合、自動的にマイページへお客さま番号は追加されますか'),
        (33, '1つのアカウント（メールアドレス）に、登録できるお客さま番号の上限はありますか。'),
        (34, '中止申込みをした場合、中止したお客さま番号の情報は閲覧できなくなりますか'),
    ]),
    ('usage_notice', 'お知らせ票', 80, [
        (35, 'マイページの登録後も紙のお知らせ票を発行してほしいです'),
        (36, 'マイページから令和5年12月以前のお知らせ票再発行の申込みはできますか'),
        (37, 'お客さま番号を追加した場合、追加したお客さま番号のお知らせ票も発行されなくなりますか'),
        (38, 'ご使用水量等のお知らせを期間指定して発行することはできますか'),
    ]),
    ('payment', '支払・電子決済', 90, [
        (23, '水道料金を支払ったのですが、支払い状況が「支払済」になりません。いつ頃更新されますか'),
        (39, 'マイページ上で電子決済できる電子決済サービスは何種類ありますか'),
        (40, 'マイページ上での電子決済の支払限度額はありますか'),
        (41, 'マイページ上で電子決済をしたい場合の手続きが知りたい'),
        (42, 'マイページ上で電子決済をした場合、領収証書は発行されますか'),
        (43, '現在、紙の納入通知書で支払っていますが、支払方法をマイページ上での電子決済に変更した後も紙の納入通知書が送られてきますか'),
        (44, '電子決済をしたいのですが、PayPayアイコンをタップしても、画面が切り替わりません。'),
    ]),
    ('disaster', '災害・断水', 100, [
        (2, 'マイページでは具体的にどのような機能がありますか'),
        (45, 'マイページのログイン画面で応急給水拠点の開設状況が閲覧できますが、マイページに登録するとさらに詳細な情報が見れるのでしょうか'),
        (46, 'マイページからのお知らせメールを配信停止したいです'),
    ]),
    ('notifications', 'お知らせ通知', 110, [
        (46, 'マイページからのお知らせメールを配信停止したいです'),
        (47, '物件を複数所有しており、お知らせ等の通知を物件ごとに分けたいのですが、可能ですか'),
    ]),
    ('withdrawal', '退会', 120, [
        (48, 'マイページを退会した場合、お知らせ票は発行されますか'),
        (49, '退会後に再登録できますか'),
    ]),
    ('charges', '料金・水量のお問い合わせ', 130, [
        (19, '過去データは何年分まで確認できますか'),
        (23, '水道料金を支払ったのですが、支払い状況が「支払済」になりません。いつ頃更新されますか'),
        (24, '「最新のご利用情報」が更新されません'),
        (26, '「過去の利用履歴」で一部の月（使用期間）が表示されていません'),
    ]),
    ('leak', '漏水', 140, [
    ]),
    ('complaint', '苦情', 150, [
    ]),
    ('other', 'その他', 160, [
    ]),
]


def _seed_categories():
    category = sa.table("contact_category", sa.column("id", sa.Integer), sa.column("code", sa.String),
                        sa.column("name", sa.String), sa.column("sort_order", sa.Integer))
    question = sa.table("contact_category_question", sa.column("category_id", sa.Integer),
                        sa.column("number", sa.Integer), sa.column("title", sa.String))
    for index, (code, name, order, questions) in enumerate(CATEGORIES, start=1):
        op.bulk_insert(category, [{"id": index, "code": code, "name": name, "sort_order": order}])
        op.bulk_insert(question, [{"category_id": index, "number": n, "title": t} for n, t in questions])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('contact_category', 'id'), (SELECT max(id) FROM contact_category))")


def _guard_contacts():
    """Contacts are append-only in the database itself, whatever the application does (R21)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CONTACT_GUARD_PG)
    else:
        for statement in CONTACT_GUARD_SQLITE:
            op.execute(statement)


def upgrade():
    op.create_table('contact_category',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_category')),
    sa.UniqueConstraint('code', name=op.f('uq_contact_category_code'))
    )
    op.create_table('contact_category_question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['contact_category.id'], name=op.f('fk_contact_category_question_category_id_contact_category')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_category_question')),
    sa.UniqueConstraint('category_id', 'number', name='uq_contact_category_question_number')
    )
    op.create_table('contact',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.Enum('phone', 'counter', 'mail', 'letter', name='contactchannel', native_enum=False, create_constraint=True, length=15), nullable=False),
    sa.Column('direction', sa.Enum('inbound', 'outbound', name='contactdirection', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('caller_relation', sa.Enum('holder', 'family', 'manager', 'other', name='callerrelation', native_enum=False, create_constraint=True, length=15), nullable=False),
    sa.Column('caller_phone', sa.String(length=20), nullable=True),
    sa.Column('memo', sa.Text(), nullable=True),
    sa.Column('memo_removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=200), nullable=True),
    sa.Column('corrects_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('outage_notice_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['portal_account.id'], name=op.f('fk_contact_account_id_portal_account')),
    sa.ForeignKeyConstraint(['category_id'], ['contact_category.id'], name=op.f('fk_contact_category_id_contact_category')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_contact_contract_id_contract')),
    sa.ForeignKeyConstraint(['corrects_id'], ['contact.id'], name=op.f('fk_contact_corrects_id_contact')),
    sa.ForeignKeyConstraint(['outage_notice_id'], ['outage_notice.id'], name=op.f('fk_contact_outage_notice_id_outage_notice')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_contact_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact'))
    )
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.create_index('ix_contact_account_at', ['account_id', 'at'], unique=False)
        batch_op.create_index('ix_contact_at', ['at'], unique=False)
        batch_op.create_index('ix_contact_caller_phone', ['caller_phone'], unique=False)
        batch_op.create_index('ix_contact_category_at', ['category_id', 'at'], unique=False)
        batch_op.create_index('ix_contact_contract_at', ['contract_id', 'at'], unique=False)
        batch_op.create_index('ix_contact_corrects_id', ['corrects_id'], unique=False)
        batch_op.create_index('ix_contact_unidentified_at', ['at'], unique=False, postgresql_where=sa.text('contract_id IS NULL AND account_id IS NULL'), sqlite_where=sa.text('contract_id IS NULL AND account_id IS NULL'))

    op.create_table('follow_up',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('what', sa.String(length=200), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('open', 'closed', name='followupstatus', native_enum=False, create_constraint=True, length=14), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('closing_contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['staff.id'], name=op.f('fk_follow_up_assignee_id_staff')),
    sa.ForeignKeyConstraint(['closed_by_id'], ['staff.id'], name=op.f('fk_follow_up_closed_by_id_staff')),
    sa.ForeignKeyConstraint(['closing_contact_id'], ['contact.id'], name=op.f('fk_follow_up_closing_contact_id_contact')),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_follow_up_contact_id_contact')),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff.id'], name=op.f('fk_follow_up_created_by_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up'))
    )
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.create_index('ix_follow_up_closed_at', ['closed_at'], unique=False)
        batch_op.create_index('ix_follow_up_closing_contact_id', ['closing_contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_up_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index('ix_follow_up_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_follow_up_desk_queue', ['created_at', 'id'], unique=False, postgresql_where=sa.text("status = 'open' AND assignee_id IS NULL"), sqlite_where=sa.text("status = 'open' AND assignee_id IS NULL"))
        batch_op.create_index('ix_follow_up_desk_due', ['due_date', 'created_at', 'id'], unique=False, postgresql_where=sa.text("status = 'open' AND assignee_id IS NULL"), sqlite_where=sa.text("status = 'open' AND assignee_id IS NULL"))
        batch_op.create_index('ix_follow_up_open_assignee', ['assignee_id', 'due_date', 'created_at', 'id'], unique=False, postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))

    _guard_contacts()
    _seed_categories()


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER contact_no_change ON contact")
        op.execute("DROP TRIGGER contact_no_truncate ON contact")
        op.execute("DROP FUNCTION contact_append_only()")
    else:
        op.execute("DROP TRIGGER contact_no_update")
        op.execute("DROP TRIGGER contact_no_delete")
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.drop_index('ix_follow_up_open_assignee', postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))
        batch_op.drop_index('ix_follow_up_desk_due', postgresql_where=sa.text("status = 'open' AND assignee_id IS NULL"), sqlite_where=sa.text("status = 'open' AND assignee_id IS NULL"))
        batch_op.drop_index('ix_follow_up_desk_queue', postgresql_where=sa.text("status = 'open' AND assignee_id IS NULL"), sqlite_where=sa.text("status = 'open' AND assignee_id IS NULL"))
        batch_op.drop_index('ix_follow_up_created_at')
        batch_op.drop_index(batch_op.f('ix_follow_up_contact_id'))
        batch_op.drop_index('ix_follow_up_closing_contact_id')
        batch_op.drop_index('ix_follow_up_closed_at')

    op.drop_table('follow_up')
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_index('ix_contact_unidentified_at', postgresql_where=sa.text('contract_id IS NULL AND account_id IS NULL'), sqlite_where=sa.text('contract_id IS NULL AND account_id IS NULL'))
        batch_op.drop_index('ix_contact_corrects_id')
        batch_op.drop_index('ix_contact_contract_at')
        batch_op.drop_index('ix_contact_category_at')
        batch_op.drop_index('ix_contact_caller_phone')
        batch_op.drop_index('ix_contact_at')
        batch_op.drop_index('ix_contact_account_at')

    op.drop_table('contact')
    op.drop_table('contact_category_question')
    op.drop_table('contact_category')
