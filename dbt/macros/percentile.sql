{#- Continuous percentile as an aggregate; dispatched because engines spell it differently. -#}
{% macro percentile_cont(expression, fraction) -%}
    {{ return(adapter.dispatch('percentile_cont', 'afterclick')(expression, fraction)) }}
{%- endmacro %}

{% macro default__percentile_cont(expression, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__percentile_cont(expression, fraction) -%}
    quantile_cont({{ expression }}, {{ fraction }})
{%- endmacro %}

{#- Hours between two timestamps, with minute precision. -#}
{% macro hours_between(start, end) -%}
    ({{ dbt.datediff(start, end, 'minute') }} / 60.0)
{%- endmacro %}
