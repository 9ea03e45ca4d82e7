-- Where each alert stands (latest triage change wins): read with FINAL next to the alerts.
CREATE TABLE IF NOT EXISTS {database}.triage_state
(
    alert_id   String,
    status     LowCardinality(String),
    assignee   String,
    reason     LowCardinality(String),
    updated_at DateTime64(3, 'UTC'),
    updated_by LowCardinality(String)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY alert_id
