-- MIPEX policy scores per source file, edition, country and strand (0 = unfavourable,
-- 100 = favourable to integration). Two files may disagree: both rows are kept, and
-- sources_disagree marks the cells where they do (a reconciliation case, never averaged).
select
    source_file,
    'mipex:' || source_file as source,  -- noqa: RF04
    edition,
    country_code,
    country_name as country_name_in_source,
    strand,
    score,
    min(score) over same_cell <> max(score) over same_cell as sources_disagree,
    fetched_at
from {{ source('statistics', 'mipex_scores') }}
window same_cell as (partition by edition, country_code, strand)
