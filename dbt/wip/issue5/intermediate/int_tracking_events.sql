-- Carrier tracking events in the canonical tracking vocabulary, tied to their parcel and order.
select
    t.tracking_event_key,
    t.tracking_number,
    t.carrier,
    p.shipment_id,
    p.order_key,
    t.occurred_at,
    t.raw_status,
    coalesce(m.canonical_status, 'exception') as canonical_status,
    m.canonical_status is null as is_unmapped_status,
    t.sub_status,
    t.message,
    t.location,
    t._loaded_at
from {{ ref('stg_carrier__tracking_events') }} as t
left join {{ ref('carrier_status_map') }} as m
    on t.carrier = m.carrier and t.raw_status = m.raw_status
left join {{ ref('int_parcels') }} as p
    on t.tracking_number = p.tracking_number
