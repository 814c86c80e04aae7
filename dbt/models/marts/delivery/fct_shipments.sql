-- One row per parcel: who carried it, when it left and arrived, how many attempts, on time or not.
-- The warehouse's parcels (int_parcels), and one parcel per marketplace order whose export states
-- when it was handed to the carrier and that no warehouse shipped (int_marketplace_parcels): its
-- dates are the export's, its carrier 'marketplace', and it has no tracking (nothing to push).
with parcels as (
    select
        shipment_id, order_key, parcel_no, parcel_count, warehouse_id, carrier, service, tracking_number,
        picked_at, packed_at, shipped_at,
        cast(null as {{ dbt.type_timestamp() }}) as stated_delivered_at,
        'warehouse' as parcel_source
    from {{ ref('int_parcels') }}
    union all
    select
        shipment_id, order_key, parcel_no, parcel_count,
        cast(null as {{ dbt.type_string() }}) as warehouse_id, carrier,
        cast(null as {{ dbt.type_string() }}) as service,
        cast(null as {{ dbt.type_string() }}) as tracking_number,
        cast(null as {{ dbt.type_timestamp() }}) as picked_at,
        cast(null as {{ dbt.type_timestamp() }}) as packed_at,
        shipped_at,
        delivered_at as stated_delivered_at,
        'marketplace_export' as parcel_source
    from {{ ref('int_marketplace_parcels') }}
),

tracking as (
    select
        shipment_id,
        min(case when canonical_status = 'out_for_delivery' then occurred_at end) as out_for_delivery_at,
        min(case when canonical_status = 'delivered' then occurred_at end) as delivered_at,
        min(case when canonical_status = 'returned_to_sender' then occurred_at end) as returned_to_sender_at,
        sum(case when canonical_status = 'attempt_failed' then 1 else 0 end) as failed_attempts,
        sum(case when canonical_status = 'exception' then 1 else 0 end) as exception_count,
        min(case when canonical_status = 'attempt_failed' then occurred_at end) as first_failed_attempt_at
    from {{ ref('int_tracking_events') }}
    where shipment_id is not null
    group by shipment_id
),

latest_status as (
    select shipment_id, canonical_status as current_tracking_status, raw_status as current_raw_status
    from (
        select shipment_id, canonical_status, raw_status,
               row_number() over (partition by shipment_id order by occurred_at desc, tracking_event_key desc) as rn
        from {{ ref('int_tracking_events') }}
        where shipment_id is not null
    ) as ranked
    where rn = 1
),

parcels_tracked as (
    select
        p.*,
        t.out_for_delivery_at,
        coalesce(t.delivered_at, p.stated_delivered_at) as delivered_at,
        t.returned_to_sender_at,
        t.failed_attempts,
        t.exception_count,
        ls.current_tracking_status as tracked_status,
        ls.current_raw_status
    from parcels as p
    left join tracking as t on p.shipment_id = t.shipment_id
    left join latest_status as ls on p.shipment_id = ls.shipment_id
)

select
    p.shipment_id,
    p.order_key,
    o.channel,
    o.store_id,
    st.country as region,
    p.parcel_no,
    p.parcel_count,
    p.parcel_source,
    p.warehouse_id,
    p.carrier,
    p.service,
    p.tracking_number,
    o.placed_at,
    p.picked_at,
    p.packed_at,
    p.shipped_at,
    p.out_for_delivery_at,
    p.delivered_at,
    p.returned_to_sender_at,
    o.promised_delivery_date,
    -- an export states no delivery attempts and no exceptions: unknown for its parcels
    case when p.parcel_source = 'warehouse'
         then coalesce(p.failed_attempts, 0) + case when p.delivered_at is not null then 1 else 0 end end as attempts,
    case when p.parcel_source = 'warehouse' then coalesce(p.exception_count, 0) end as exception_count,
    case when p.parcel_source = 'warehouse' and p.delivered_at is not null
         then coalesce(p.failed_attempts, 0) = 0 end as first_attempt_success,
    case when p.delivered_at is not null
         then p.delivered_at < o.promised_delivery_by end as is_on_time,  -- by the end of the promised local day
    coalesce(p.tracked_status,
             case when p.parcel_source = 'marketplace_export' and p.delivered_at is not null then 'delivered'
                  when p.shipped_at is not null then 'pending' end) as current_tracking_status,
    p.current_raw_status,
    {{ hours_between('o.placed_at', 'p.shipped_at') }} as hours_order_to_ship,
    {{ hours_between('p.shipped_at', 'p.delivered_at') }} as hours_in_transit,
    {{ hours_between('o.placed_at', 'p.delivered_at') }} as hours_click_to_door
from parcels_tracked as p
inner join {{ ref('fct_orders') }} as o on p.order_key = o.order_key
left join {{ ref('dim_stores') }} as st on o.store_id = st.store_id
