{{ config(materialized='incremental', unique_key='order_event_key', on_schema_change='append_new_columns') }}
-- The unified timeline: one row per (order, stage, instant, system, raw status). Incremental on
-- load time, so late-arriving events (an old pick confirmation landed today) are not missed.
with events as (
    select
        {{ dbt.hash(dbt.concat(["order_key", "'|'", "stage", "'|'", dbt.cast("occurred_at", api.Column.translate_type("string")),
                                "'|'", "source_system", "'|'", "coalesce(raw_status, '')", "'|'", "coalesce(shipment_id, '')"])) }}
            as order_event_key,
        order_key, stage, occurred_at, source_system, raw_status, shipment_id, parcel_count, _loaded_at
    from {{ ref('int_order_events') }}
    where occurred_at is not null and order_key is not null
    {% if is_incremental() %}
      and _loaded_at > {{ last_loaded_at() }}
    {% endif %}
)

select order_event_key, order_key, stage, occurred_at, source_system, raw_status, shipment_id,
       max(parcel_count) as parcel_count, max(_loaded_at) as _loaded_at
from events
group by order_event_key, order_key, stage, occurred_at, source_system, raw_status, shipment_id
