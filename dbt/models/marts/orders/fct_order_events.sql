{{ config(materialized='incremental', unique_key='order_key', incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}
-- The unified timeline: one row per (order, stage, instant, system, raw status). Incremental on
-- load time, by order: a build reads the orders with an event landed since its last build
-- (a late pick confirmation, a corrected time, a carrier event whose parcel became known) and
-- replaces ALL of their events with what the sources say now, so a corrected time replaces the
-- old one instead of standing beside it.
{% if is_incremental() %}
with touched as (
    select distinct order_key
    from {{ ref('int_order_events') }}
    where _loaded_at > {{ last_loaded_at() }} and order_key is not null
),
{% else %}
with
{% endif %}
events as (
    select
        {{ dbt.hash(dbt.concat(["e.order_key", "'|'", "e.stage", "'|'", dbt.cast("e.occurred_at", api.Column.translate_type("string")),
                                "'|'", "e.source_system", "'|'", "coalesce(e.raw_status, '')", "'|'", "coalesce(e.shipment_id, '')"])) }}
            as order_event_key,
        e.order_key, e.stage, e.occurred_at, e.source_system, e.raw_status, e.shipment_id, e.parcel_count, e._loaded_at
    from {{ ref('int_order_events') }} as e
    {% if is_incremental() %}
    inner join touched on e.order_key = touched.order_key
    {% endif %}
    where e.occurred_at is not null and e.order_key is not null
)

select order_event_key, order_key, stage, occurred_at, source_system, raw_status, shipment_id,
       max(parcel_count) as parcel_count, max(_loaded_at) as _loaded_at
from events
group by order_event_key, order_key, stage, occurred_at, source_system, raw_status, shipment_id
