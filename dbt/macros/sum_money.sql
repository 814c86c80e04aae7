{% macro sum_money(expression) -%}
    {#- The exact sum of amounts already rounded to cents, as money (decimal(38, 2)). A sum of doubles
        depends on the order the rows come in, so rounding it could flip a cent between two builds of
        the same data (the kill-mid-run drill found one in dim_customers.aov_rc). -#}
    cast(sum(cast({{ expression }} as {{ money_sum_type() }})) as {{ money_sum_type() }})
{%- endmacro %}
