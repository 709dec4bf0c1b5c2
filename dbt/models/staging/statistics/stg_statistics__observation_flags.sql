-- One row per observation (latest version) and observation flag: "bep" gives b, e and p.
-- Lets analysts filter on a flag and lets a test catch a flag nobody has interpreted yet.
select
    v.provider,
    v.dataset,
    v.series_key,
    v.period,
    f.flag
from (
    {{ statistics_observation_versions(source('statistics', 'statistics_observations')) }}
) as v
cross join lateral regexp_split_to_table(v.flags, '') as f (flag)
where v.is_latest and not v.is_deleted and v.flags is not null
