{#- The instant marts are computed as of: var('as_of') when given (a hand-run dbt, unit tests), else
    the build's AFTERCLICK_DBT_AS_OF (afterclick sets it from settings.as_of: demo worlds, backfills),
    else now.
    afterclick passes it as an environment variable, not a var: a changed var makes dbt parse the
    whole project again (~6 s), a changed environment variable only the files that read it. -#}
{% macro as_of_setting() -%}
    {{- var('as_of', '') or env_var('AFTERCLICK_DBT_AS_OF', '') -}}
{%- endmacro %}

{% macro as_of() -%}
    {%- set at = as_of_setting() -%}
    {%- if at -%}cast('{{ at }}' as timestamp){%- else -%}cast({{ dbt.current_timestamp() }} as timestamp){%- endif -%}
{%- endmacro %}
