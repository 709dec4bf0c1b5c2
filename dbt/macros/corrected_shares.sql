{#- Shares corrected for classifier error: adjusted classify-and-count per detected language,
    with a 95% interval (docs/marts.md, "Shares corrected for classifier error").

    For a language l of a cell, k_l of n_l posts are classified positive; the classifier's
    measured rates are t (true-positive) and f (false-positive) for that class and language
    (the language's own when its evaluation was large and separating enough, else those of
    all languages). The corrected count is c_l = (k_l - f n_l) / (t - f), summed over
    languages and divided by the cell's n; it is clipped to [0, 1] only at the end. Variance by
    the delta method: binomial sampling k_l (n_l - k_l) / n_l / (t - f)^2 per language, plus
    the rates' own uncertainty (c^2 var(t) + (n - c)^2 var(f)) / (t - f)^2 once per set of
    rates (languages that share the pooled rates share its error). A cell with a language
    that no usable rate covers gets no estimate (null).

    Returns one row per city_code x area_id x period_start with, for each of `attention`
    (areas; whole = the city's posts), `negative` (sentiment; whole = sentiment-classified
    posts) and `hate` (hate; whole = hate-classified posts): <name>_share_corrected,
    <name>_share_low, <name>_share_high. `lang_days` is int_city_area_lang_days__summed,
    `rates` stg_ml__classifier_error_rates. -#}
{% macro corrected_shares(period, lang_days, rates) -%}
{%- set measures = [
    ('attention', 'areas', 'l.area_id', 'l.posts', 'l.city_posts'),
    ('negative', 'sentiment', "'negative'", 'l.negative_posts', 'l.sentiment_posts'),
    ('hate', 'hate', "'hate'", 'l.hate_posts', 'l.hate_classified_posts'),
] -%}
with lang_sums as (
    select
        d.city_code,
        d.area_id,
        d.lang,
        {% if period == 'day' -%}
            d.day as period_start,
        {%- else -%}
        cast(date_trunc('{{ period }}', d.day) as date) as period_start,
    {%- endif %}
        sum(d.posts) as posts,
        sum(d.sentiment_posts) as sentiment_posts,
        sum(d.negative_posts) as negative_posts,
        sum(d.hate_classified_posts) as hate_classified_posts,
        sum(d.hate_posts) as hate_posts
    from {{ lang_days }} as d
    group by 1, 2, 3, 4
),

cells as (
    select distinct
        s.city_code,
        s.area_id,
        s.period_start
    from lang_sums as s
),

lang_cells as (
    -- Every language of the city's posts for every cell: a language with no post in the area
    -- still has the false positives its posts would have given.
    select
        a.city_code,
        a.area_id,
        a.period_start,
        t.lang,
        coalesce(s.posts, 0) as posts,
        coalesce(s.sentiment_posts, 0) as sentiment_posts,
        coalesce(s.negative_posts, 0) as negative_posts,
        coalesce(s.hate_classified_posts, 0) as hate_classified_posts,
        coalesce(s.hate_posts, 0) as hate_posts,
        t.posts as city_posts
    from cells as a
    inner join lang_sums as t
        on
            a.city_code = t.city_code
            and a.period_start = t.period_start
            and t.area_id = '*'
    left join lang_sums as s
        on
            a.city_code = s.city_code
            and a.period_start = s.period_start
            and a.area_id = s.area_id
            and t.lang = s.lang
),

usable_rates as (
    select r.*
    from {{ rates }} as r
    where
        r.positives >= {{ var('error_rate_min_examples') }}
        and r.negatives >= {{ var('error_rate_min_examples') }}
        and r.tpr - r.fpr >= {{ var('error_rate_min_separation') }}
),

{% for name, task, cls, part, whole in measures %}
{{ name }}_by_lang as (
    -- One row per cell and language, with the rates that apply to it.
    select
        l.city_code,
        l.area_id,
        l.period_start,
        cast({{ part }} as double precision) as k,
        cast({{ whole }} as double precision) as n,
        coalesce(own.lang, pooled.lang) as rates_lang,
        coalesce(own.tpr, pooled.tpr) as t,
        coalesce(own.fpr, pooled.fpr) as f,
        coalesce(own.tpr_variance, pooled.tpr_variance) as vt,
        coalesce(own.fpr_variance, pooled.fpr_variance) as vf
    from lang_cells as l
    left join usable_rates as own
        on own.task = '{{ task }}' and own.class = {{ cls }} and own.lang = l.lang
    left join usable_rates as pooled
        on pooled.task = '{{ task }}' and pooled.class = {{ cls }} and pooled.lang = '*'
    where {{ whole }} > 0
),

{{ name }}_by_rates as (
    select
        b.city_code,
        b.area_id,
        b.period_start,
        b.rates_lang,
        bool_and(b.t is not null) as covered,
        sum(b.n) as n,
        sum((b.k - b.f * b.n) / (b.t - b.f)) as c,
        sum(b.k * (b.n - b.k) / b.n / power(b.t - b.f, 2)) as v_sampling,
        max(b.t - b.f) as d,
        max(b.vt) as vt,
        max(b.vf) as vf
    from {{ name }}_by_lang as b
    group by 1, 2, 3, 4
),

{{ name }}_cells as (
    select
        r.city_code,
        r.area_id,
        r.period_start,
        bool_and(r.covered) as covered,
        sum(r.n) as n,
        sum(r.c) as c,
        sum(r.v_sampling + (r.c * r.c * r.vt + (r.n - r.c) * (r.n - r.c) * r.vf) / (r.d * r.d))
            as v
    from {{ name }}_by_rates as r
    group by 1, 2, 3
),

{% endfor %}
estimates as (
    select
        a.city_code,
        a.area_id,
        a.period_start
        {%- for name, task, cls, part, whole in measures %},
        case when {{ name }}.covered then
            greatest(0, least(1, {{ name }}.c / {{ name }}.n))
        end as {{ name }}_share_corrected,
        case when {{ name }}.covered then
            greatest(0, least(1, ({{ name }}.c - 1.96 * sqrt({{ name }}.v)) / {{ name }}.n))
        end as {{ name }}_share_low,
        case when {{ name }}.covered then
            greatest(0, least(1, ({{ name }}.c + 1.96 * sqrt({{ name }}.v)) / {{ name }}.n))
        end as {{ name }}_share_high
        {%- endfor %}
    from cells as a
    {%- for name, task, cls, part, whole in measures %}
    left join {{ name }}_cells as {{ name }}
        on
            a.city_code = {{ name }}.city_code
            and a.area_id = {{ name }}.area_id
            and a.period_start = {{ name }}.period_start
    {%- endfor %}

)

select * from estimates
{%- endmacro %}
