-- An IT action decision names its action in the audit log (empty for triage records).
ALTER TABLE {database}.triage_audit ADD COLUMN IF NOT EXISTS action_id String DEFAULT '' AFTER alert_id
