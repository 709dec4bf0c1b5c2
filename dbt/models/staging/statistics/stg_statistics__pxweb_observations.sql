-- Latest version of each observation from national statistics offices' PxWeb APIs.
-- geo_code is already the Urban Audit city code (the table's geo_map in config/statistics.yml).
{{ latest_statistics_observations(source('statistics', 'statistics_observations'), ['pxweb']) }}
