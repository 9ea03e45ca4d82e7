#!/bin/bash
# Run once by the ClickHouse image on an empty data volume (/docker-entrypoint-initdb.d):
# Grafana's read-only user. It may read the alerts and their triage, nothing else: not the
# input events (message and call texts) and not employee_pseudonyms (who is behind a
# distress pseudonym). The tables themselves are created by the store process at its start.
set -euo pipefail
: "${CLICKHOUSE_GRAFANA_PASSWORD:?set CLICKHOUSE_GRAFANA_PASSWORD in infra/env/clickhouse.env}"
db=${CLICKHOUSE_DB:-compliance}
password=${CLICKHOUSE_GRAFANA_PASSWORD//\\/\\\\}   # a string literal: \ and ' escaped
password=${password//\'/\\\'}
clickhouse client --host 127.0.0.1 --user "$CLICKHOUSE_USER" --password "$CLICKHOUSE_PASSWORD" \
  --multiquery <<SQL
CREATE DATABASE IF NOT EXISTS ${db};
CREATE USER IF NOT EXISTS grafana IDENTIFIED WITH sha256_password BY '${password}' SETTINGS readonly = 2;
GRANT SELECT ON ${db}.alerts TO grafana;
GRANT SELECT ON ${db}.triage_state TO grafana;
GRANT SELECT ON ${db}.triage_audit TO grafana;
SQL
