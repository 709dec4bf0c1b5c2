{#- City x integration area x period from the additive daily sums. `period` is `day`, `week`
    (ISO week, Monday) or `month`; the output column has that name. The relations are passed
    in by the calling model (`days`: int_city_area_days__summed, `cities`: dim_cities,
    `areas`: dim_integration_areas; for the shares corrected for classifier error, `lang_days`:
    int_city_area_lang_days__summed and `rates`: stg_ml__classifier_error_rates), so each ref()
    is written in the model's own SQL. -#}
{% macro city_area_rollup(period, days, cities, areas, lang_days, rates) -%}
with cells as (
    select
        d.city_code,
        d.area_id,
        {% if period == 'day' -%}
            d.day as period_start,
        {%- else -%}
        cast(date_trunc('{{ period }}', d.day) as date) as period_start,
    {%- endif %}
        d.posts,
        d.sentiment_posts,
        d.polarity_sum,
        d.negative_posts,
        d.hate_classified_posts,
        d.hate_posts
    from {{ days }} as d
),

sums as (
    select
        c.city_code,
        c.area_id,
        c.period_start,
        sum(c.posts) as posts,
        sum(c.sentiment_posts) as sentiment_posts,
        sum(c.polarity_sum) as polarity_sum,
        sum(c.negative_posts) as negative_posts,
        sum(c.hate_classified_posts) as hate_classified_posts,
        sum(c.hate_posts) as hate_posts
    from cells as c
    group by c.city_code, c.area_id, c.period_start
)

select
    c.city_code,
    c.city_name,
    c.country_code,
    s.area_id,
    ar.label as area_label,
    ar.dimension,
    s.period_start as {{ period }},
    cast(s.posts as integer) as posts,
    cast(t.posts as integer) as city_posts,
    cast(s.posts as double precision) / t.posts as attention_share,
    cast(s.sentiment_posts as integer) as sentiment_posts,
    cast(s.polarity_sum / nullif(s.sentiment_posts, 0) as double precision) as mean_sentiment,
    cast(s.negative_posts as double precision)
    / nullif(s.sentiment_posts, 0) as negative_share,
    cast(s.hate_classified_posts as integer) as hate_classified_posts,
    cast(s.hate_posts as double precision) / nullif(s.hate_classified_posts, 0) as hate_share
    {%- for name in ['attention', 'negative', 'hate'] %},
    cs.{{ name }}_share_corrected,
    cs.{{ name }}_share_low,
    cs.{{ name }}_share_high
    {%- endfor %}
from sums as s
inner join sums as t
    on s.city_code = t.city_code and s.period_start = t.period_start and t.area_id = '*'
inner join {{ cities }} as c on s.city_code = c.city_code
inner join {{ areas }} as ar on s.area_id = ar.area_id
left join ({{ corrected_shares(period, lang_days, rates) }}) as cs
    on s.city_code = cs.city_code and s.area_id = cs.area_id and s.period_start = cs.period_start
{%- endmacro %}
