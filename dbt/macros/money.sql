{#- Money is exact: DECIMAL wherever an amount is stored or summed, never FLOAT or DOUBLE (a 4-byte
    FLOAT keeps ~7 digits: 1234567.89 came back as 1234567.875). Amounts are decimal(18, 2), sums
    decimal(38, 2) (sum_money), exchange rates decimal(18, 6). Statistics that are not money
    (rates, shares, model fits, predictions) stay double. Dispatched so another engine can spell
    the types its own way. -#}
{% macro money_type() -%}
    {{ return(adapter.dispatch('money_type', 'afterclick')()) }}
{%- endmacro %}

{% macro default__money_type() -%}decimal(18, 2){%- endmacro %}

{% macro money_sum_type() -%}
    {{ return(adapter.dispatch('money_sum_type', 'afterclick')()) }}
{%- endmacro %}

{% macro default__money_sum_type() -%}decimal(38, 2){%- endmacro %}

{% macro rate_type() -%}
    {{ return(adapter.dispatch('rate_type', 'afterclick')()) }}
{%- endmacro %}

{% macro default__rate_type() -%}decimal(18, 6){%- endmacro %}

{#- An amount (a JSON string, a number, an expression) as money: rounded to the cent, exactly. -#}
{% macro money(expression) -%}
    cast({{ expression }} as {{ money_type() }})
{%- endmacro %}

{#- An amount in minor units (VTEX's cents) as money: exact (a division would give a double). -#}
{% macro cents_to_money(expression) -%}
    cast(cast({{ expression }} as decimal(18, 0)) * 0.01 as {{ money_type() }})
{%- endmacro %}

{#- An amount at an exchange rate (the currency_rates seed), rounded to the cent, exactly. -#}
{% macro money_at_rate(amount, rate) -%}
    cast(round(cast({{ amount }} as {{ money_sum_type() }}) * cast({{ rate }} as {{ rate_type() }}), 2) as {{ money_type() }})
{%- endmacro %}

{#- Join condition for the rate of ``currency`` on ``on_date`` (a date or timestamp): the last rate
    of the currency_rates seed on or before that date (int_currency_rates holds each rate's validity
    range; the first rate also holds before it). Use as
    ``left join {{ ref('int_currency_rates') }} as rates on {{ currency_rate_on('rates', 'o.currency', 'o.placed_at') }}``.
    A range join, not ASOF JOIN: it runs on any engine. -#}
{% macro currency_rate_on(rates, currency, on_date) -%}
    {{ rates }}.currency = {{ currency }}
    and cast({{ on_date }} as date) >= {{ rates }}.valid_from
    and cast({{ on_date }} as date) < {{ rates }}.valid_to
{%- endmacro %}
