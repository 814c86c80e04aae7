-- The additive parts of the delivery KPIs per ship day (the store's local day), channel, store, carrier, warehouse
-- and region: parcel and order counts only, never a rate per row (dashboards/kpis.py divides sums;
-- docs/concepts/kpis.md). OTIF is per order, counted on the ship day of the order's last parcel
-- once every parcel the warehouse announced was delivered: orders still in transit are in neither
-- the numerator nor the denominator.
with orders_otif as (
    select
        order_key,
        count(delivered_at) = count(*) and count(*) >= coalesce(max(parcel_count), 0) as all_delivered,
        min(case when is_on_time then 1 else 0 end) = 1 as all_on_time
    from {{ ref('fct_shipments') }}
    where shipped_at is not null
    group by order_key
),

parcels as (
    select
        {{ local_date('s.shipped_at', 'st.timezone') }} as ship_date,
        s.channel,
        s.store_id,
        s.carrier,
        s.warehouse_id,
        s.region,
        s.delivered_at is not null as is_delivered,
        s.parcel_source = 'warehouse' as is_tracked,
        s.is_on_time,
        s.first_attempt_success,
        s.exception_count > 0 as has_exception,
        oo.all_delivered and row_number() over (
            partition by s.order_key order by s.shipped_at desc, s.parcel_no desc
        ) = 1 as decides_otif,  -- the order's last parcel to ship
        oo.all_on_time
    from {{ ref('fct_shipments') }} as s
    inner join orders_otif as oo on s.order_key = oo.order_key
    inner join {{ ref('dim_stores') }} as st on s.store_id = st.store_id
    where s.shipped_at is not null
)

select
    ship_date,
    channel,
    store_id,
    carrier,
    warehouse_id,
    region,
    count(*) as parcels_shipped,
    sum(case when is_delivered then 1 else 0 end) as parcels_delivered,
    sum(case when is_tracked then 1 else 0 end) as parcels_tracked,
    sum(case when is_tracked and is_delivered then 1 else 0 end) as parcels_delivered_tracked,
    sum(case when is_delivered and is_on_time then 1 else 0 end) as parcels_on_time,
    sum(case when is_delivered and first_attempt_success then 1 else 0 end) as parcels_first_attempt,
    sum(case when has_exception then 1 else 0 end) as parcels_with_exception,
    sum(case when decides_otif then 1 else 0 end) as orders_fully_delivered,
    sum(case when decides_otif and all_on_time then 1 else 0 end) as orders_otif
from parcels
group by ship_date, channel, store_id, carrier, warehouse_id, region
