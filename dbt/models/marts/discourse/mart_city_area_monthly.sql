{{ config(indexes=[{'columns': ['city_code', 'month']}, {'columns': ['month']}]) }}
-- City x integration area x calendar month: the monthly roll-up of mart_city_area_daily.
{{ city_area_rollup(
    'month', ref('int_city_area_days__summed'), ref('dim_cities'), ref('dim_integration_areas'),
    ref('int_city_area_lang_days__summed'), ref('stg_ml__classifier_error_rates')
) }}
