-- Keep the retention in line with the policy at every start (no rewrite of existing parts).
ALTER TABLE {database}.alerts MODIFY TTL
    toDateTime(last_event_time) + INTERVAL {distress_ttl_days} DAY DELETE WHERE category = 'distress',
    toDateTime(last_event_time) + INTERVAL {alert_ttl_days} DAY
SETTINGS materialize_ttl_after_modify = 0
