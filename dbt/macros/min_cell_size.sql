{#- Small-cell suppression threshold k: the dbt var `min_cell_size`, else the environment's
    MONITOR_MIN_CELL_SIZE, else 10. Publication suppresses `published` with the same setting.
    (`env_var is defined`: sqlfluff's templater has no env_var.) -#}
{% macro min_cell_size() -%}
    {%- set from_env = env_var('MONITOR_MIN_CELL_SIZE', '10') if env_var is defined else '10' -%}
    {{ var('min_cell_size', from_env) | int }}
{%- endmacro %}
