"""rq cron configuration for the monthly reports: `rq cron console.jobs.reports_cron --url REDIS_URL`.

`flask --app console report-cron` does the same with the app's own settings.
"""

import os

from rq import cron

from .reports import MONTHLY_CRON, build_monthly_reports

cron.register(build_monthly_reports, os.environ.get("CONSOLE_RQ_QUEUE", "console"), cron=MONTHLY_CRON)
