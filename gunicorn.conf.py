"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py "console:create_app()"`.

The access log leaves out query strings (%(U)s is the path only): a lookup's query is a caller's phone
number or e-mail address, which must not end up in log files.
"""

import multiprocessing
import os

bind = os.environ.get("CONSOLE_BIND", "127.0.0.1:8000")
# Cores + 1, not the usual 2 × cores + 1: a request here is mostly CPU (ours and, on a small host,
# PostgreSQL's), and on 2 cores 3 workers gave p95 49 ms for lookups where 5 gave 66 ms
# (bench/load_desk.py, 50 operators). More load means more hosts, not more workers per core.
workers = int(os.environ.get("CONSOLE_WEB_WORKERS", multiprocessing.cpu_count() + 1))
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%({x-request-id}i)s"'
# Recycle workers now and then so a slow leak can never take the desk down.
max_requests = 5000
max_requests_jitter = 500
timeout = 60


def post_worker_init(worker):
    """Once the worker has loaded the console: console.web.prepare_web_worker (the garbage collector kept
    off what was loaded, and sized for a request)."""
    from console.web import prepare_web_worker

    prepare_web_worker()
