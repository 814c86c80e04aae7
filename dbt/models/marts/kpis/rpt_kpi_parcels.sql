-- One row per parcel shipped, on its ship day (the store's local day, as rpt_kpi_delivery_daily
-- counts it), with the durations whose percentiles are KPIs (click-to-door, order-to-ship): a
-- percentile cannot be added up across days, so it is taken over these rows for the period asked.
select
    s.shipment_id,
    {{ local_date('s.shipped_at', 'st.timezone') }} as ship_date,
    s.channel,
    s.store_id,
    s.carrier,
    s.warehouse_id,
    s.region,
    s.hours_click_to_door,
    s.hours_order_to_ship,
    s.hours_in_transit
from {{ ref('fct_shipments') }} as s
inner join {{ ref('dim_stores') }} as st on s.store_id = st.store_id
where s.shipped_at is not null
