-- The current model versions' measured error rates per class and language, with the sampling
-- variance of each rate (binomial, from the evaluation's counts).
with counts as (
    select
        r.task,
        r.model_version,
        r.class,
        r.lang,
        r.true_positives + r.false_negatives as positives,
        r.false_positives + r.true_negatives as negatives,
        r.true_positives,
        r.false_positives
    from {{ source('ml', 'classifier_error_rates') }} as r
    inner join {{ source('ml', 'model_versions') }} as v
        on
            r.task = v.task
            and r.model_version = v.model_version
            and v.is_current
),

rates as (
    select
        c.*,
        cast(c.true_positives as double precision) / nullif(c.positives, 0) as tpr,
        cast(c.false_positives as double precision) / nullif(c.negatives, 0) as fpr
    from counts as c
)

select
    r.task,
    r.model_version,
    r.class,
    r.lang,
    r.positives,
    r.negatives,
    r.tpr,
    r.fpr,
    r.tpr * (1 - r.tpr) / nullif(r.positives, 0) as tpr_variance,
    r.fpr * (1 - r.fpr) / nullif(r.negatives, 0) as fpr_variance
from rates as r
