{#- The instant marts are computed as of: var('as_of') when set (demo worlds, backfills), else now. -#}
{% macro as_of() -%}
    {%- if var('as_of', '') -%}cast('{{ var("as_of") }}' as timestamp){%- else -%}cast({{ dbt.current_timestamp() }} as timestamp){%- endif -%}
{%- endmacro %}
