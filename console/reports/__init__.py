"""Supervisors' Excel reports (issue 8): the catalogue, one module per report (catalogue/), parameters
(params.py), the streaming xlsx writer (excel.py), runs with their audit trail (runs.py) and the home
page's figures (dashboard.py). Jobs are in console/jobs/reports.py, pages in console/views/reports.py."""
