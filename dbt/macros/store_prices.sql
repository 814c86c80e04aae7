{#- How each configured channel store means its prices: whether they include tax and at what rate
    (channel_stores.<id>.prices_include_tax, else the channel's default, and tax_rate_pct), from the
    var ``stores`` (afterclick/dbt_channels.py). One select per store, united (engine-neutral); with
    none configured, a select of the same columns that returns no row. -#}
{% macro store_price_rules() -%}
    {%- set stores = var('stores', []) | selectattr('prices_include_tax', 'defined') | list -%}
    {%- for store in (stores if stores | length > 0 else [{}]) %}
    select
        {{ var_literal(store.get('store_id'), dbt.type_string()) }} as store_id,
        {{ 'true' if store.get('prices_include_tax') else 'false' }} as prices_include_tax,
        {{ var_literal(store.get('tax_rate_pct', 0), dbt.type_numeric()) }} as tax_rate_pct
    {%- if stores | length == 0 %}
    where 1 = 0
    {%- endif %}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
