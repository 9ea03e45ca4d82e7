-- Alerts, one row per revision; ReplacingMergeTree keeps the highest revision of each
-- alert_id, so at-least-once delivery and updates collapse. Read with FINAL.
CREATE TABLE IF NOT EXISTS {database}.alerts
(
    alert_id         String,
    revision         UInt32,
    rule_id          LowCardinality(String),
    category         LowCardinality(String),
    severity         LowCardinality(String),
    status           LowCardinality(String),
    subject_kind     LowCardinality(String),
    subject_id       String,
    employee_ids     Array(String),
    first_event_time DateTime64(3, 'UTC'),
    last_event_time  DateTime64(3, 'UTC'),
    detected_at      DateTime64(3, 'UTC'),
    event_ids        Array(String),
    summary          String,
    details          String COMMENT 'JSON object: rule-specific facts and thresholds',
    policy_version   LowCardinality(String),
    inserted_at      DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(revision)
ORDER BY alert_id
TTL toDateTime(last_event_time) + INTERVAL {distress_ttl_days} DAY DELETE WHERE category = 'distress',
    toDateTime(last_event_time) + INTERVAL {alert_ttl_days} DAY
