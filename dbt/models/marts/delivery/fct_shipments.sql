-- One row per parcel: who carried it, when it left and arrived, how many attempts, on time or not.
with tracking as (
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
)

select
    p.shipment_id,
    p.order_key,
    o.channel,
    o.store_id,
    st.country as region,
    p.parcel_no,
    p.parcel_count,
    p.warehouse_id,
    p.carrier,
    p.service,
    p.tracking_number,
    o.placed_at,
    p.picked_at,
    p.packed_at,
    p.shipped_at,
    t.out_for_delivery_at,
    t.delivered_at,
    t.returned_to_sender_at,
    o.promised_delivery_date,
    coalesce(t.failed_attempts, 0) + case when t.delivered_at is not null then 1 else 0 end as attempts,
    coalesce(t.exception_count, 0) as exception_count,
    case when t.delivered_at is not null then coalesce(t.failed_attempts, 0) = 0 end as first_attempt_success,
    case when t.delivered_at is not null
         then t.delivered_at < {{ dbt.dateadd('day', 1, 'cast(o.promised_delivery_date as timestamp)') }} end as is_on_time,
    coalesce(ls.current_tracking_status, case when p.shipped_at is not null then 'pending' end) as current_tracking_status,
    ls.current_raw_status,
    {{ hours_between('o.placed_at', 'p.shipped_at') }} as hours_order_to_ship,
    {{ hours_between('p.shipped_at', 't.delivered_at') }} as hours_in_transit,
    {{ hours_between('o.placed_at', 't.delivered_at') }} as hours_click_to_door
from {{ ref('int_parcels') }} as p
inner join {{ ref('fct_orders') }} as o on p.order_key = o.order_key
left join {{ ref('stores') }} as st on o.store_id = st.store_id
left join tracking as t on p.shipment_id = t.shipment_id
left join latest_status as ls on p.shipment_id = ls.shipment_id
