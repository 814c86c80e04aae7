-- Every carrier tracking event (status files and the tracking API) in the canonical tracking
-- vocabulary, tied to its parcel and order. A raw status the mapping seed does not know becomes
-- 'exception' and is flagged, so a new carrier wording shows up instead of vanishing.
-- _loaded_at is when the event became an order's: the later of its own landing and its parcel's
-- (a carrier file can land before the warehouse confirms the parcel; the incremental order
-- events read it once the parcel is known).
with events as (
    select tracking_event_key, tracking_number, carrier, occurred_at, raw_status, sub_status, message, location,
           tracking_source, _loaded_at
    from {{ ref('stg_carrier_files__status_events') }}
    union all
    select tracking_event_key, tracking_number, carrier, occurred_at, raw_status, sub_status, message, location,
           tracking_source, _loaded_at
    from {{ ref('stg_tracking_api__events') }}
)

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
    t.tracking_source,
    case when p._loaded_at > t._loaded_at then p._loaded_at else t._loaded_at end as _loaded_at
from events as t
left join {{ ref('carrier_status_map') }} as m
    on t.carrier = m.carrier and t.raw_status = m.raw_status
left join {{ ref('int_parcels') }} as p
    on t.tracking_number = p.tracking_number
