-- The audit log of the console: every triage change, comment, reveal, export and action
-- decision, kept in full. Append-only; a record delivered twice (at-least-once) has the
-- same audit_id and collapses. Newest first per alert, and by time for the audit page.
CREATE TABLE IF NOT EXISTS {database}.triage_audit
(
    audit_id    String,
    at          DateTime64(3, 'UTC'),
    user        LowCardinality(String),
    role        LowCardinality(String),
    action      LowCardinality(String),
    alert_id    String,
    from_status LowCardinality(String),
    to_status   LowCardinality(String),
    assignee    String,
    reason      LowCardinality(String),
    comment     String,
    client      String,
    INDEX by_time at TYPE minmax GRANULARITY 1,
    INDEX by_user user TYPE set(1000) GRANULARITY 4
)
ENGINE = ReplacingMergeTree
ORDER BY (alert_id, at, audit_id)
