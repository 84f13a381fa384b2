"""flask commands: staff management, demo and city-scale data, the rq worker."""

from __future__ import annotations

import time

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from . import transaction
from .extensions import db
from .models import Role
from .services import DomainError

staff_cli = AppGroup("staff", help="職員アカウントの管理 (staff accounts).")


@staff_cli.command("create")
@click.argument("email")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", default=None, help="Display name (defaults to the e-mail's local part).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--totp-secret", default=None,
              help="Base32 TOTP secret to provision the second factor; without it the member enrols at first sign-in.")
def create_staff_command(email, roles, name, password, totp_secret):
    """Create a staff account: flask --app console staff create EMAIL --role ROLE [--password …] [--totp-secret …]."""
    from .services.staff import create_staff

    try:
        staff = create_staff(None, email, name or email.split("@")[0], roles, password, totp_secret=totp_secret)
    except DomainError as exc:
        transaction.rollback()
        raise click.ClickException(exc.message) from None
    transaction.commit()
    second = "second factor provisioned" if staff.has_second_factor else "enrols a second factor at first sign-in"
    click.echo(f"created staff #{staff.id} {staff.email} ({', '.join(sorted(roles))}; {second})")


@staff_cli.command("unlock")
@click.argument("email")
def unlock_staff_command(email):
    """Unlock a staff account locked by wrong passwords (for when no admin can sign in)."""
    from .services.staff import find_staff, unlock_staff

    staff = find_staff(email)
    if staff is None:
        raise click.ClickException(f"no staff member {email}")
    try:
        unlock_staff(None, staff, reason="command line")
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    transaction.commit()
    click.echo(f"unlocked {staff.email}")


@click.command("seed")
@click.option("--size", type=click.Choice(["demo", "city"]), default="demo", show_default=True)
@click.option("--seed", "seed_value", type=int, default=1, show_default=True, help="Random seed: same seed, same data.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already holds contracts.")
def seed_command(size, seed_value, if_empty):
    """Load demo data (a few hundred contracts) or city-scale data (1.5 M contracts, PostgreSQL)."""
    from sqlalchemy import select

    from .models import Contract
    from .seed import load

    if if_empty and db.session.scalar(select(Contract.id).limit(1)) is not None:
        click.echo("seed: the database already holds data; nothing loaded")
        return
    load(size, seed_value, echo=click.echo)


@click.command("demo-logins")
@click.option("--url", default="http://127.0.0.1:5000", show_default=True, help="Where the console is served.")
def demo_logins_command(url):
    """Print the demo sign-ins (one per role) that `seed --size demo` creates, with each one's current
    second-factor code (it changes every 30 seconds, and each code signs in once) and TOTP secret."""
    from .seed.demo import DEMO_STAFF, DEMO_TOTP_SECRETS
    from .services.second_factor import current_code

    click.echo(f"デモ用ログイン ({url.rstrip('/')}/login):")
    for email, _name, roles, password in DEMO_STAFF:
        secret = DEMO_TOTP_SECRETS[email]
        click.echo(f"  {', '.join(roles):<32} {email:<36} {password:<28} 確認コード {current_code(secret)}"
                   f"  (TOTP秘密鍵 {secret})")
    click.echo("  確認コードは30秒ごとに変わり、一度しか使えません。新しいコードはもう一度 `flask demo-logins` で、"
               "または秘密鍵を認証アプリに登録して確かめてください。")


WORKER_RESTART_SECONDS = 5


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker_command(burst):
    """Run an rq worker with the scheduler on CONSOLE_REDIS_URL, plus this worker's mail sweeper."""
    from flask import current_app
    from redis.exceptions import ConnectionError as RedisConnectionError
    from rq import Worker

    from .jobs.contacts import schedule_contact_memo_removal
    from .jobs.mail import start_sweeper
    from .jobs.queue import get_queue
    from .jobs.reissue import schedule_daily_print_batch

    queue = get_queue()
    if queue is None:
        raise click.ClickException("CONSOLE_REDIS_URL is not set: jobs run inline, no worker is needed")
    # Daily jobs live in rq's scheduled registry under one id per day: each worker may (re)schedule them.
    click.echo(f"scheduled: {schedule_daily_print_batch()}")
    # Not run here: this process forks the work horses, which must not inherit its database connections.
    from .jobs.audit import schedule_audit_partitions

    click.echo(f"scheduled: {schedule_audit_partitions()}")
    click.echo(f"scheduled: {schedule_contact_memo_removal()}")
    # Mails recorded while Redis was down, or left by a worker that died, go out on this worker's sweep
    # (console.jobs.mail explains why a loop here and not a scheduled job).
    stop = start_sweeper(_sweeper_app(current_app))
    try:
        while True:
            try:
                Worker([queue], connection=queue.connection, name=None).work(with_scheduler=True, burst=burst)
                break
            except RedisConnectionError as exc:
                # rq retries a lost connection only while waiting for a job; elsewhere (heartbeat,
                # scheduler, maintenance) it gives up. This process, and its sweeper, stay up instead.
                if burst:
                    raise
                current_app.logger.warning("Redis unreachable (%s): the rq worker starts again in %s s", exc,
                                           WORKER_RESTART_SECONDS)
                time.sleep(WORKER_RESTART_SECONDS)
    finally:
        stop.set()
    current_app.logger.info("worker stopped")


def _sweeper_app(app: Flask) -> Flask:
    """An app of the sweeper's own whose engine keeps no idle connections: rq forks a work horse per
    job, and a horse must not inherit (and share) a pooled connection of the sweeper's thread."""
    from sqlalchemy.pool import NullPool

    from . import create_app

    options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"], poolclass=NullPool)
    return create_app({"SQLALCHEMY_ENGINE_OPTIONS": options})  # the rest from the environment, as the worker's


audit_cli = AppGroup("audit", help="The audit trail's monthly partitions (PostgreSQL).")


@audit_cli.command("partitions")
@click.option("--ahead", type=int, default=None, help="Months ahead (default CONSOLE_AUDIT_PARTITIONS_AHEAD).")
def audit_partitions_command(ahead):
    """Make this month's partition and the months ahead that are missing."""
    from .services import audit_partitions

    created = audit_partitions.ensure_partitions(None, months_ahead=ahead)
    transaction.commit()
    click.echo("作成した区画: " + (", ".join(created) if created else "なし（作成済み）"))


@audit_cli.command("archive")
@click.option("--before", "before", required=True, help="YYYY-MM: months ending on or before its first day.")
def audit_archive_command(before):
    """Detach the months before --before to the audit_archive schema (dump them, then drop them)."""
    from .formats import parse_month
    from .services import audit_partitions

    month = parse_month(before)
    if month is None:
        raise click.ClickException("--before には監査記録の月を YYYY-MM の形で指定してください（例：2025-01）。")
    try:
        archived = audit_partitions.archive_before(None, month)
    except DomainError as refused:
        raise click.ClickException(refused.message) from None
    transaction.commit()
    for name, rows in archived:
        click.echo(f"{audit_partitions.ARCHIVE_SCHEMA}.{name}: {rows:,} 件")
contacts_cli = AppGroup("contacts", help="応対履歴 (contacts).")


@contacts_cli.command("remove-expired-memos")
def remove_expired_memos_command():
    """Remove contacts' memos older than CONSOLE_CONTACT_MEMO_RETENTION_YEARS now (the daily job does it too)."""
    from .services.contacts import remove_expired_memos

    removed = remove_expired_memos(None)
    transaction.commit()
    click.echo(f"removed {removed} contact memos")


@click.command("report-cron")
@with_appcontext
def report_cron_command():
    """Run rq's cron scheduler for the monthly reports (same as `rq cron console.jobs.reports_cron`)."""
    from rq.cron import CronScheduler

    from .jobs.queue import get_queue
    from .jobs.reports import register_schedule

    queue = get_queue()
    if queue is None:
        raise click.ClickException("CONSOLE_REDIS_URL is not set: the schedule needs Redis and a worker")
    scheduler = CronScheduler(connection=queue.connection)
    register_schedule(scheduler, queue.name)
    scheduler.start()


def configure_cli(app: Flask) -> None:
    """Attach the commands to the app."""
    app.cli.add_command(staff_cli)
    app.cli.add_command(seed_command)
    app.cli.add_command(demo_logins_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(report_cron_command)
    app.cli.add_command(audit_cli)
    app.cli.add_command(contacts_cli)
