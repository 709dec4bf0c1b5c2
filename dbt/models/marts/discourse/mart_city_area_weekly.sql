{{ config(indexes=[{'columns': ['city_code', 'week']}, {'columns': ['week']}]) }}
-- City x integration area x ISO week (Monday): the weekly roll-up of mart_city_area_daily.
{{ city_area_rollup(
    'week', ref('int_city_area_days__summed'), ref('dim_cities'), ref('dim_integration_areas'),
    ref('int_city_area_lang_days__summed'), ref('stg_ml__classifier_error_rates')
) }}
