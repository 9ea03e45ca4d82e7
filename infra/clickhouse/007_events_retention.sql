-- Keep the events' retention in line with CM_EVENT_TTL_DAYS at every start.
ALTER TABLE {database}.events MODIFY TTL toDateTime(time) + INTERVAL {event_ttl_days} DAY
SETTINGS materialize_ttl_after_modify = 0
