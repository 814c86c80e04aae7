{#- Union the staging models of several sources into one shape: every branch selects the
    same canonical columns, in the same order. -#}
{% macro union_staging(models, columns) -%}
    {%- for name in models %}
    select {{ columns | join(', ') }} from {{ ref(name) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- The same union, with ``amount`` also in the reporting currency (amount_rc, at the rate of the
    row's own date, the column ``date_column``: macro currency_rate_on). -#}
{% macro union_staging_with_amount_rc(models, columns, date_column) -%}
with unioned as (
    {{ union_staging(models, columns) }}
)

select
    unioned.*,
    {{ money_at_rate('unioned.amount', 'rates.rate_to_eur') }} as amount_rc
from unioned
left join {{ ref('int_currency_rates') }} as rates
    on {{ currency_rate_on('rates', 'unioned.currency', 'unioned.' ~ date_column) }}
{%- endmacro %}
