-- Delivery performance by ship day (the store's local day), carrier, warehouse and region. Rates are over the parcels
-- that have an outcome (delivered for on-time and first attempt); OTIF is at order level: an
-- order is OTIF on the day its last parcel shipped when every parcel arrived on time.
with orders_otif as (
    select
        order_key,
        max(shipped_at) as last_shipped_at,
        min(case when is_on_time then 1 else 0 end) = 1 and count(delivered_at) = count(*)
            and count(*) >= coalesce(max(parcel_count), 0) as is_otif,
        count(delivered_at) = count(*) and count(*) >= coalesce(max(parcel_count), 0) as all_delivered
    from {{ ref('fct_shipments') }}
    where shipped_at is not null
    group by order_key
),

shipments as (
    select s.*, {{ local_date('s.shipped_at', 'st.timezone') }} as ship_date,
           case when oo.all_delivered and s.shipped_at = oo.last_shipped_at then oo.is_otif end as order_otif
    from {{ ref('fct_shipments') }} as s
    inner join {{ ref('dim_stores') }} as st on s.store_id = st.store_id
    left join orders_otif as oo on s.order_key = oo.order_key
    where s.shipped_at is not null
)

select
    ship_date,
    carrier,
    warehouse_id,
    region,
    count(*) as shipments,
    count(delivered_at) as delivered,
    sum(case when is_on_time then 1 else 0 end) as delivered_on_time,
    sum(case when is_on_time then 1 else 0 end) * 1.0 / nullif(count(delivered_at), 0) as on_time_rate,
    sum(case when order_otif then 1 else 0 end) * 1.0 / nullif(count(order_otif), 0) as otif_rate,
    -- over the tracked parcels: a marketplace export states no attempts and no exceptions
    sum(case when first_attempt_success then 1 else 0 end) * 1.0 / nullif(count(first_attempt_success), 0) as first_attempt_success_rate,
    sum(case when exception_count > 0 then 1 else 0 end) * 1.0 / nullif(count(exception_count), 0) as exception_rate,
    {{ percentile_cont('hours_click_to_door', 0.5) }} as click_to_door_hours_p50,
    {{ percentile_cont('hours_click_to_door', 0.9) }} as click_to_door_hours_p90,
    {{ percentile_cont('hours_order_to_ship', 0.5) }} as order_to_ship_hours_p50,
    {{ percentile_cont('hours_order_to_ship', 0.9) }} as order_to_ship_hours_p90,
    {{ percentile_cont('hours_in_transit', 0.5) }} as transit_hours_p50,
    {{ percentile_cont('hours_in_transit', 0.9) }} as transit_hours_p90
from shipments
group by ship_date, carrier, warehouse_id, region
