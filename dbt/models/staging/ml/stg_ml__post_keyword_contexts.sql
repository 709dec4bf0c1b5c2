-- The keyword-in-context window of every tracked-term match, of every keyword-model version, by
-- its key (post_id, model_version, position, keyword, label): what fct_keyword_contexts looks
-- up, one primary-key read per kept sample, for the matches stg_ml__post_keywords ranks.
-- Contains post text: keep it out of anything the BI roles read.
select
    post_id,
    model_version,
    position,
    keyword,
    label,
    context
from {{ source('ml', 'post_keywords') }}
