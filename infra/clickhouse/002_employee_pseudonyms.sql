-- RESTRICTED (HR role only): pseudonym -> employee for the sensitive distress alerts.
-- The store fills it from the worker's internal <app id>-pseudonyms topic, never a shared one.
-- Grant SELECT on this table to
-- the HR role alone, e.g.: GRANT SELECT ON {database}.employee_pseudonyms TO hr_role;
CREATE TABLE IF NOT EXISTS {database}.employee_pseudonyms
(
    pseudonym   String,
    employee_id String,
    first_seen  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY pseudonym
