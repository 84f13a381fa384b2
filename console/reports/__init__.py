"""Supervisors' Excel reports (issue 8): the catalogue, one module per report (catalogue/), parameters
(params.py), the streaming xlsx writer (excel.py) and the home page's figures (dashboard.py). Runs with
their audit trail are a service (console/services/report_runs.py); jobs are in console/jobs/reports.py,
pages in console/views/reports.py."""
