"""Grafana as code: the dashboards (built here, written to ``dashboards/*.json``) and their provisioning."""
