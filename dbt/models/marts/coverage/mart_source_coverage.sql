-- Source coverage: posts per source, platform, language and city per month, with the caveats
-- a user must read next to any figure built on them (`caveats`, a list of short codes that
-- docs/marts.md explains; some come from the extractors' coverage registry, e.g. a disabled
-- source). city_code 'unknown' = the source's city is not in the gazetteer.
with cells as (
    -- From the additive per-day counts (int_source_days__counted, incremental), not from fct_posts.
    select
        d.source,
        d.platform,
        d.lang,
        d.city_code,
        cast(date_trunc('month', d.day) as date) as month,  -- noqa: RF04
        cast(sum(d.posts) as bigint) as posts,
        count(*) as active_days,  -- one row per day in the group
        min(d.day) as first_day,
        max(d.day) as last_day,
        cast(sum(d.sentiment_posts) as bigint) as sentiment_posts,
        cast(sum(d.hate_classified_posts) as bigint) as hate_classified_posts
    from {{ ref('int_source_days__counted') }} as d
    group by d.source, d.platform, d.lang, d.city_code, cast(date_trunc('month', d.day) as date)
),

context as (
    select
        c.*,
        sum(c.posts) over (partition by c.city_code, c.month) as city_month_posts
    from cells as c
),

city_sources as (
    select
        c.city_code,
        c.month,
        count(distinct c.source) as sources
    from cells as c
    group by c.city_code, c.month
)

select
    x.source,
    x.platform,
    x.lang,
    x.city_code,
    x.month,
    cast(x.posts as integer) as posts,
    cast(x.active_days as integer) as active_days,
    x.first_day,
    x.last_day,
    cast(x.posts as double precision) / x.city_month_posts as share_of_city_month,
    cast(x.sentiment_posts as double precision) / x.posts as sentiment_classified_share,
    cast(x.hate_classified_posts as double precision) / x.posts as hate_classified_share,
    cast(s.sources as integer) as city_month_sources,
    r.source_kind,
    r.source_scope,
    r.is_enabled as source_enabled,
    r.last_run_at as source_last_run_at,
    array_remove(array[
        case when x.source like 'demo%' then 'synthetic_demo_data' end,
        case when x.city_code = 'unknown' then 'city_not_resolved' end,
        case when x.lang = 'und' then 'language_undetermined' end,
        case when x.posts < {{ min_cell_size() }} then 'few_posts' end,
        case when s.sources = 1 then 'single_source_for_city' end,
        case
            when x.active_days < extract(day from (x.month + interval '1 month' - interval '1 day'))
                then 'partial_month'
        end,
        case when x.sentiment_posts < x.posts then 'not_fully_classified' end,
        case when x.platform = 'x_import' then 'file_import_not_live' end,
        -- from the extractors' registry (raw.source_coverage)
        case when not r.is_enabled then 'source_disabled' end,
        case when r.last_run_status = 'failed' then 'source_last_run_failed' end,
        case
            when
                cardinality(r.declared_cities) > 0
                and x.city_code <> 'unknown'
                and not x.city_code = any(r.declared_cities)
                then 'city_outside_source_scope'
        end
    ], null) as caveats
from context as x
inner join city_sources as s on x.city_code = s.city_code and x.month = s.month
left join {{ ref('stg_social__source_coverage') }} as r on x.source = r.source
