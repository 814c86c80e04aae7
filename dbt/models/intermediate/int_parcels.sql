-- One row per parcel, from the warehouse's pick / pack / ship confirmations; the tracking number
-- is the one the warehouse scanned at shipping, else the one the carrier's label tool gave.
-- _loaded_at is the later of the confirmations' and the label's landing: a label landed after the
-- confirmations gives the parcel its tracking number then, and the carrier events that number
-- carries reach the incremental order events (int_tracking_events takes this time over).
with confirmations as (
    select
        shipment_id,
        max(order_key) as order_key,
        max(parcel_no) as parcel_no,
        max(parcel_count) as parcel_count,
        max(warehouse_id) as warehouse_id,
        max(carrier) as carrier,
        max(service) as service,
        max(tracking_number) as tracking_number,
        max(weight_kg) as weight_kg,
        min(case when stage = 'picked' then occurred_at end) as picked_at,
        min(case when stage = 'packed' then occurred_at end) as packed_at,
        min(case when stage = 'shipped' then occurred_at end) as shipped_at,
        max(_loaded_at) as _loaded_at
    from {{ ref('stg_wms__fulfilment_events') }}
    group by shipment_id
)

select
    c.shipment_id, c.order_key, c.parcel_no, c.parcel_count, c.warehouse_id, c.carrier, c.service,
    coalesce(c.tracking_number, l.tracking_number) as tracking_number,
    c.weight_kg, c.picked_at, c.packed_at, c.shipped_at,
    case when l._loaded_at > c._loaded_at then l._loaded_at else c._loaded_at end as _loaded_at
from confirmations as c
left join {{ ref('stg_carrier_files__labels') }} as l
    on c.shipment_id = l.shipment_id and c.carrier = l.carrier
