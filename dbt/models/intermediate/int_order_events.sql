-- Every system's events about an order, in the canonical stage vocabulary (not yet deduplicated).
-- A view: its one reader, fct_order_events, is incremental on _loaded_at, and the filter reaches
-- each source through the union (a table would copy every event of the history at each build).
{{ config(materialized='view') }}
with channel as (
    select order_key, 'placed' as stage, placed_at as occurred_at, 'channel' as source_system,
           'placed' as raw_status, cast(null as {{ dbt.type_string() }}) as shipment_id,
           cast(null as integer) as parcel_count, _loaded_at
    from {{ ref('int_orders_unioned') }}
    union all
    select order_key, 'paid', paid_at, 'channel', 'paid', null, null, _loaded_at
    from {{ ref('int_orders_unioned') }} where paid_at is not null
    union all
    select order_key, 'canceled', canceled_at, 'channel', channel_status, null, null, _loaded_at
    from {{ ref('int_orders_unioned') }} where canceled_at is not null
    union all
    -- the handed-to-carrier and delivered dates a marketplace export states: one parcel per order,
    -- named by the order key (an order the marketplace ships, with no parcel events here)
    select order_key, 'shipped', shipped_at, 'channel', 'shipped', order_key, 1, _loaded_at
    from {{ ref('stg_marketplace__orders') }} where shipped_at is not null
    union all
    select order_key, 'delivered', delivered_at, 'channel', 'delivered', order_key, 1, _loaded_at
    from {{ ref('stg_marketplace__orders') }} where delivered_at is not null
),

erp as (
    select order_key, case when kind = 'credit_note' then 'refunded' else 'invoiced' end, issued_at, 'erp',
           kind, null, null, _loaded_at
    from {{ ref('stg_erp__invoices') }}
),

wms as (
    select order_key, stage, occurred_at, 'wms', stage, shipment_id, parcel_count, _loaded_at
    from {{ ref('stg_wms__fulfilment_events') }}
    union all
    select order_key, 'return_received', received_at, 'wms', disposition, null, null, _loaded_at
    from {{ ref('stg_wms__returns_received') }}
),

carrier as (
    select t.order_key, s.stage, t.occurred_at, 'carrier', t.raw_status, t.shipment_id, null, t._loaded_at
    from {{ ref('int_tracking_events') }} as t
    inner join {{ ref('tracking_stages') }} as s
        on t.canonical_status = s.canonical_status
    where t.order_key is not null and s.stage <> 'shipped'  -- the WMS confirms shipping
)

select * from channel
union all select * from erp
union all select * from wms
union all select * from carrier
