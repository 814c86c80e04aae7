{#- The stores configured in settings: the var ``stores`` that afterclick builds from the store
    profiles of channel_stores.<id> and marketplaces.<id> (afterclick/dbt_channels.py) and passes to
    every dbt run, and ``store_defaults``, what a store configured nowhere gets. By hand:
    dbt <command> --vars "$(python -m afterclick.dbt_channels)". -#}

{#- A value of the var as an SQL literal of ``type``: null, a number, or a quoted string. -#}
{% macro var_literal(value, type) -%}
    {%- if value is none -%}
        cast(null as {{ type }})
    {%- elif value is number -%}
        cast({{ value }} as {{ type }})
    {%- else -%}
        cast('{{ value | string | replace("'", "''") }}' as {{ type }})
    {%- endif -%}
{%- endmacro %}

{#- One select per configured store, united (engine-neutral: no VALUES list, no array); with none
    configured, a select of the same columns that returns no row. -#}
{% macro configured_stores() -%}
    {%- set stores = var('stores', []) -%}
    {%- set string = dbt.type_string() -%}
    {%- for store in (stores if stores | length > 0 else [{}]) %}
    select
        {{ var_literal(store.get('store_id'), string) }} as store_id,
        {{ var_literal(store.get('channel'), string) }} as channel,
        {{ var_literal(store.get('store_name'), string) }} as store_name,
        {{ var_literal(store.get('currency'), string) }} as currency,
        {{ var_literal(store.get('timezone'), string) }} as timezone,
        {{ var_literal(store.get('country'), string) }} as country,
        {{ var_literal(store.get('promised_days'), dbt.type_int()) }} as promised_days,
        {{ var_literal(store.get('locale'), string) }} as locale
    {%- if stores | length == 0 %}
    where 1 = 0
    {%- endif %}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
