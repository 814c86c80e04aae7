{#- The latest landed version of every record of a channel API source (raw.<channel>__<entity>). -#}
{% macro latest_payloads(channel, entity='orders') -%}
    select id, updated_at, payload, _store, _loaded_at
    from (
        select *, row_number() over (partition by _store, id order by updated_at desc, _loaded_at desc) as _version_rank
        from {{ source(channel, channel ~ '__' ~ entity) }}
    ) as versions
    where _version_rank = 1
{%- endmacro %}

{#- One row per element of a JSON array (line items, transactions) of the latest version of every order, with
    its position in the array (item_index, from 1): the order the channel lists the lines in. -#}
{% macro payload_items(channel, items_path, currency_path, entity='orders') -%}
    select _store, id, payload->>'{{ currency_path }}' as currency,
           unnest(json_extract(payload, '{{ items_path }}')) as item,
           generate_subscripts(json_extract(payload, '{{ items_path }}'), 1) as item_index
    from ({{ latest_payloads(channel, entity) }}) as orders
{%- endmacro %}
