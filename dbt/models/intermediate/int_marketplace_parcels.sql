-- One parcel per marketplace order whose export states when it was handed to the carrier, for an
-- order no warehouse confirmation ships (the marketplace, or someone outside afterclick's warehouse,
-- shipped it): named by the order key, as its shipped and delivered events in int_order_events are,
-- with the export's handed-to-carrier and delivered dates. The export names no carrier and no
-- tracking number: the carrier is 'marketplace', and there is nothing to track or push.
select
    o.order_key as shipment_id,
    o.order_key,
    1 as parcel_no,
    1 as parcel_count,
    'marketplace' as carrier,
    o.shipped_at,
    o.delivered_at,
    o._loaded_at
from {{ ref('stg_marketplace__orders') }} as o
where o.shipped_at is not null
  and not exists (
      select 1 from {{ ref('int_parcels') }} as p where p.order_key = o.order_key
  )
