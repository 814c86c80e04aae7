{#- The latest landed version of every record of a channel API source (raw.<channel>__<entity>). -#}
{#- In an incremental model (order_payload_staging), only the records with a version landed since the
    model's last build are read: the model's newest _loaded_at is where the last build stopped. -#}
{% macro latest_payloads(channel, entity='orders') -%}
    {%- set raw = source(channel, channel ~ '__' ~ entity) -%}
    select id, updated_at, payload, _store, _loaded_at
    from (
        select *, row_number() over (partition by _store, id order by updated_at desc, _loaded_at desc) as _version_rank
        from {{ raw }} as versions_landed
        {% if is_incremental() -%}
        where exists (
            select 1 from {{ raw }} as news
            where news._loaded_at > {{ last_loaded_at() }}
              and news._store = versions_landed._store and news.id = versions_landed.id
        )
        {%- endif %}
    ) as versions
    where _version_rank = 1
{%- endmacro %}

{#- The staging of what a channel's orders carry (the orders, their lines, payments, refunds,
    fulfillments, returns): a table kept incrementally. A build reads only the orders with a version
    landed since the last build (latest_payloads) and replaces all of their rows (delete+insert by
    order_key). A model that emits no row for an order's new version keeps the rows of its older one
    (none of these entities disappears from an order: a canceled payment or return changes status).
    A change of a model's columns fails the build until it is run with --full-refresh. -#}
{% macro order_payload_staging() -%}
    {{ config(materialized='incremental', unique_key='order_key', incremental_strategy='delete+insert',
              on_schema_change='fail') }}
{%- endmacro %}

{#- One row per element of a JSON array (line items, transactions) of the latest version of every order, with
    its position in the array (item_index, from 1): the order the channel lists the lines in. -#}
{% macro payload_items(channel, items_path, currency_path, entity='orders') -%}
    select _store, id, _loaded_at, payload->>'{{ currency_path }}' as currency,
           unnest(json_extract(payload, '{{ items_path }}')) as item,
           generate_subscripts(json_extract(payload, '{{ items_path }}'), 1) as item_index
    from ({{ latest_payloads(channel, entity) }}) as orders
{%- endmacro %}
