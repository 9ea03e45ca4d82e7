"""Infrastructure: broker launchers, ClickHouse DDL, policies, Prometheus/Grafana files."""
