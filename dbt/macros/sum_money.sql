{% macro sum_money(expression) -%}
    {#- The exact sum of amounts already rounded to cents. A sum of doubles depends on the order the
        rows come in, so rounding it could flip a cent between two builds of the same data (the
        kill-mid-run drill found one in dim_customers.aov_rc). -#}
    cast(sum(cast({{ expression }} as decimal(38, 2))) as {{ dbt.type_float() }})
{%- endmacro %}
