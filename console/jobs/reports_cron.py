"""rq cron configuration for the monthly reports: `rq cron console.jobs.reports_cron --url REDIS_URL`.

`flask --app console report-cron` does the same with the app's own settings. rq's cron runs this file
to learn its jobs and builds no app, so the settings come from console.config's load_config all the same.
"""

from rq import cron

from ..config import instance_path, load_config
from .reports import register_schedule

register_schedule(cron, config=load_config(instance_path()))
