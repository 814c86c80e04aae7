{#- Models land in the schema named by their folder (staging, intermediate, marts, writeback),
    not dbt's default "<target schema>_<custom>", so ad-hoc SQL reads marts.fct_orders. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
