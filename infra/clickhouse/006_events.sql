-- Every valid input event, so an alert's evidence can be shown and analysed later.
-- Keyed by source/id (the alerts' event_ids); a duplicate delivery collapses.
CREATE TABLE IF NOT EXISTS {database}.events
(
    uid        String,
    type       LowCardinality(String),
    time       DateTime64(3, 'UTC'),
    event      String COMMENT 'the CloudEvents JSON as received',
    stored_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY uid
TTL toDateTime(time) + INTERVAL {event_ttl_days} DAY
