-- One row per tracking number a channel shows on an order, and whether the warehouse shipped a
-- parcel with that number for that order (a number on the channel that no parcel has is a mistake
-- to fix on the channel).
select
    f.channel_fulfillment_key,
    f.order_key,
    f.store_id,
    f.channel,
    f.tracking_number,
    f.carrier_name,
    f.tracking_url,
    f.fulfilled_at,
    f.status,
    s.shipment_id,
    s.shipment_id is not null as is_known_parcel
from {{ ref('int_channel_fulfillments') }} as f
left join {{ ref('fct_shipments') }} as s
    on f.order_key = s.order_key and f.tracking_number = s.tracking_number
