-- One row per parcel, from the warehouse's pick / pack / ship confirmations.
select
    shipment_id,
    max(order_key) as order_key,
    max(warehouse_id) as warehouse_id,
    max(carrier) as carrier,
    max(tracking_number) as tracking_number,
    min(case when stage = 'picked' then occurred_at end) as picked_at,
    min(case when stage = 'packed' then occurred_at end) as packed_at,
    min(case when stage = 'shipped' then occurred_at end) as shipped_at,
    max(_loaded_at) as _loaded_at
from {{ ref('stg_wms__fulfilment_events') }}
group by shipment_id
