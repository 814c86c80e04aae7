{#- How each configured channel store means its prices: whether they include tax and at what rate
    (channel_stores.<id>.prices_include_tax, else the channel's default, and tax_rate_pct), from the
    var ``stores`` (afterclick/dbt_channels.py). One select per store, united (engine-neutral); with
    none configured, a select of the same columns that returns no row. -#}
{% macro store_price_rules() -%}
    {{ var_records(var('stores', []) | selectattr('prices_include_tax', 'defined') | list, [
        ('store_id', dbt.type_string()), ('prices_include_tax', dbt.type_boolean()),
        ('tax_rate_pct', dbt.type_numeric()),
    ]) }}
{%- endmacro %}
