{#- Use the folder's schema name as is (staging, intermediate, marts): the warehouse schemas and
    their grants are fixed by the migrations, not derived from the target. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name is not none else target.schema }}
{%- endmacro %}
