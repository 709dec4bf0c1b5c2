-- Every stored version of every observation (Eurostat, PxWeb), oldest first per cell.
-- A new version exists only when the value, flags or confidentiality changed, so
-- previous_value shows what a revision changed. is_deleted marks a tombstone: the cell was
-- missing from a later answer (it has no value; if the cell comes back, a new version follows).
{{ statistics_observation_versions(source('statistics', 'statistics_observations')) }}
