{{ config(indexes=[
    {'columns': ['city_code', 'day']}, {'columns': ['day']}, {'columns': ['area_id', 'day']},
]) }}
-- City x integration area x day: how much of a city's conversation an area gets, and its tone.
-- attention_share normalises by the city's own volume, so cities of any size compare.
{{ city_area_rollup(
    'day', ref('int_city_area_days__summed'), ref('dim_cities'), ref('dim_integration_areas'),
    ref('int_city_area_lang_days__summed'), ref('stg_ml__classifier_error_rates')
) }}
