-- Policy and campaign reaction: per event, volume, mean sentiment, negative share and hate share
-- in the window before and the window after the event, their differences, and tests:
-- volume by a Poisson rate test (equal exposure, normal approximation of the conditional
-- binomial: z = (after - before) / sqrt(after + before)), negative and hate shares by a
-- two-proportion z-test with pooled variance. Two-sided p = erfc(|z| / sqrt(2)); significant at
-- p < `reaction_alpha`. A test without data (no posts, pooled share 0 or 1) gives null.
with w as (
    select
        b.event_id,
        b.title,
        b.kind,
        b.event_date,
        b.scope,
        b.code,
        b.areas,
        b.posts as posts_before,
        a.posts as posts_after,
        b.sentiment_posts as sentiment_posts_before,
        a.sentiment_posts as sentiment_posts_after,
        b.polarity_sum / nullif(b.sentiment_posts, 0) as mean_sentiment_before,
        a.polarity_sum / nullif(a.sentiment_posts, 0) as mean_sentiment_after,
        b.negative_posts as negative_posts_before,
        a.negative_posts as negative_posts_after,
        b.hate_classified_posts as hate_classified_before,
        a.hate_classified_posts as hate_classified_after,
        b.hate_posts as hate_posts_before,
        a.hate_posts as hate_posts_after
    from {{ ref('int_event_windows__summed') }} as b
    inner join {{ ref('int_event_windows__summed') }} as a
        on b.event_id = a.event_id and b.event_window = 'before' and a.event_window = 'after'
),

tests as (
    select
        w.*,
        cast(w.negative_posts_before as double precision)
        / nullif(w.sentiment_posts_before, 0) as negative_share_before,
        cast(w.negative_posts_after as double precision)
        / nullif(w.sentiment_posts_after, 0) as negative_share_after,
        cast(w.hate_posts_before as double precision)
        / nullif(w.hate_classified_before, 0) as hate_share_before,
        cast(w.hate_posts_after as double precision)
        / nullif(w.hate_classified_after, 0) as hate_share_after,
        (w.posts_after - w.posts_before)
        / nullif(sqrt(cast(w.posts_after + w.posts_before as double precision)), 0) as volume_z,
        {{ two_proportion_z('w.negative_posts_after', 'w.sentiment_posts_after',
                            'w.negative_posts_before', 'w.sentiment_posts_before') }}
            as negative_share_z,
        {{ two_proportion_z('w.hate_posts_after', 'w.hate_classified_after',
                            'w.hate_posts_before', 'w.hate_classified_before') }}
            as hate_share_z
    from w
)

select
    t.event_id,
    t.title,
    t.kind,
    t.event_date,
    t.scope,
    t.code,
    t.areas,
    {{ var('reaction_window_days') }} as window_days,
    cast(t.posts_before as integer) as posts_before,
    cast(t.posts_after as integer) as posts_after,
    cast(t.posts_after - t.posts_before as integer) as posts_difference,
    cast(t.posts_after as double precision) / nullif(t.posts_before, 0) as volume_ratio,
    t.volume_z,
    erfc(abs(t.volume_z) / sqrt(2.0)) as volume_p_value,
    cast(t.mean_sentiment_before as double precision) as mean_sentiment_before,
    cast(t.mean_sentiment_after as double precision) as mean_sentiment_after,
    cast(t.mean_sentiment_after - t.mean_sentiment_before as double precision)
        as mean_sentiment_difference,
    t.negative_share_before,
    t.negative_share_after,
    t.negative_share_after - t.negative_share_before as negative_share_difference,
    t.negative_share_z,
    erfc(abs(t.negative_share_z) / sqrt(2.0)) as negative_share_p_value,
    t.hate_share_before,
    t.hate_share_after,
    t.hate_share_after - t.hate_share_before as hate_share_difference,
    t.hate_share_z,
    erfc(abs(t.hate_share_z) / sqrt(2.0)) as hate_share_p_value,
    coalesce(erfc(abs(t.volume_z) / sqrt(2.0)) < {{ var('reaction_alpha') }}, false)
        as volume_change_significant,
    coalesce(erfc(abs(t.negative_share_z) / sqrt(2.0)) < {{ var('reaction_alpha') }}, false)
        as negative_share_change_significant,
    coalesce(erfc(abs(t.hate_share_z) / sqrt(2.0)) < {{ var('reaction_alpha') }}, false)
        as hate_share_change_significant
from tests as t
