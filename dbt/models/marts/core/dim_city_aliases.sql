-- Every name a city goes by, one row each: English and native names (a city with several
-- official names, like Bruxelles/Brussel, gets one row per name), other-language names and
-- exonyms, hashtags and slang tags. What place detection and keyword search match against.
with names as (
    select
        city_code,
        'english' as alias_type,
        city_name as alias_name
    from {{ ref('int_cities__reconciled') }}
    union all
    select
        c.city_code,
        'native' as alias_type,
        n.alias_name
    from {{ ref('int_cities__reconciled') }} as c
    cross join lateral regexp_split_to_table(c.native_name, '/') as n (alias_name)
    union all
    select
        c.city_code,
        'other_language' as alias_type,
        n.alias_name
    from {{ ref('int_cities__reconciled') }} as c
    cross join lateral regexp_split_to_table(c.other_names, '\|') as n (alias_name)
    union all
    select
        c.city_code,
        'demonym' as alias_type,
        n.alias_name
    from {{ ref('int_cities__reconciled') }} as c
    cross join lateral regexp_split_to_table(c.demonyms, '\|') as n (alias_name)
    union all
    select
        c.city_code,
        'hashtag' as alias_type,
        n.alias_name
    from {{ ref('int_cities__reconciled') }} as c
    cross join lateral regexp_split_to_table(c.hashtags, '\|') as n (alias_name)
    union all
    select
        c.city_code,
        'slang' as alias_type,
        n.alias_name
    from {{ ref('int_cities__reconciled') }} as c
    cross join lateral regexp_split_to_table(c.slang_tags, '\|') as n (alias_name)
)

select distinct
    city_code,
    alias_type,
    trim(alias_name) as alias_name,
    lower(trim(alias_name)) as alias_lower
from names
where trim(coalesce(alias_name, '')) <> ''
