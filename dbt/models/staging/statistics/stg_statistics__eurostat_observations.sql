-- Latest version of each Eurostat observation (API fetches and downloaded Eurostat files).
{{ latest_statistics_observations(
    source('statistics', 'statistics_observations'), ['eurostat', 'eurostat_file']
) }}
