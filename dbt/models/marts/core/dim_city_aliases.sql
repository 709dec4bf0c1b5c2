-- Every name a city goes by, one row each: English and native names (a city with several
-- official names, like Bruxelles/Brussel, gets one row per name), other-language names and
-- exonyms, demonyms, hashtags and slang tags. What place detection and keyword search match
-- against.
with names as (
    select
        c.city_code,
        lists.alias_type,
        n.alias_name
    from {{ ref('int_cities__reconciled') }} as c
    cross join
        lateral (
            values
            ('english', c.city_name, '\|'),
            ('native', c.native_name, '/'),
            ('other_language', c.other_names, '\|'),
            ('demonym', c.demonyms, '\|'),
            ('hashtag', c.hashtags, '\|'),
            ('slang', c.slang_tags, '\|')
        ) as lists (alias_type, names, separator)
    cross join lateral regexp_split_to_table(lists.names, lists.separator) as n (alias_name)
)

select distinct
    city_code,
    alias_type,
    trim(alias_name) as alias_name,
    lower(trim(alias_name)) as alias_lower
from names
where trim(coalesce(alias_name, '')) <> ''
