{#- The stores configured in settings: the var ``stores`` that afterclick builds from the store
    profiles of channel_stores.<id> and marketplaces.<id> (afterclick/dbt_channels.py) and passes to
    every dbt run, and ``store_defaults``, what a store configured nowhere gets. By hand:
    dbt <command> --vars "$(python -m afterclick.dbt_channels)". -#}

{#- A value of the var as an SQL literal of ``type``: null, a number, or a quoted string. -#}
{% macro var_literal(value, type) -%}
    {%- if value is none -%}
        cast(null as {{ type }})
    {%- elif value is boolean -%}
        cast({{ 'true' if value else 'false' }} as {{ type }})
    {%- elif value is number -%}
        cast({{ value }} as {{ type }})
    {%- else -%}
        cast('{{ value | string | replace("'", "''") }}' as {{ type }})
    {%- endif -%}
{%- endmacro %}

{#- One select per record (a mapping) of a var, its ``columns`` ((name, type) pairs) as literals,
    united (engine-neutral: no VALUES list, no array); with no record, a select of the same columns
    that returns no row. -#}
{% macro var_records(records, columns) -%}
    {%- for record in (records if records | length > 0 else [{}]) %}
    select
    {%- for name, type in columns %}
        {{ var_literal(record.get(name), type) }} as {{ name }}{{ "," if not loop.last }}
    {%- endfor %}
    {%- if records | length == 0 %}
    where 1 = 0
    {%- endif %}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#- The configured stores, one row each. -#}
{% macro configured_stores() -%}
    {%- set string = dbt.type_string() -%}
    {{ var_records(var('stores', []), [
        ('store_id', string), ('channel', string), ('store_name', string), ('currency', string),
        ('timezone', string), ('country', string), ('promised_days', dbt.type_int()), ('locale', string),
    ]) }}
{%- endmacro %}
