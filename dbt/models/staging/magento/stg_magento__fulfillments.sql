-- The tracks on Magento shipments (GET /V1/shipments, read back), one row per tracking number;
-- times are UTC ("Y-m-d H:i:s").
with shipments as ({{ latest_payloads('magento', 'shipments') }}),

tracks as (
    select _store, id, payload, unnest(json_extract(payload, '$.tracks[*]')) as track
    from shipments
)

select
    _store || ':' || id || ':' || (track->>'$.entity_id') as channel_fulfillment_key,
    _store || ':' || (payload->>'$.order_id') as order_key,
    _store as store_id,
    'magento' as channel,
    track->>'$.track_number' as tracking_number,
    track->>'$.title' as carrier_name,
    cast(null as {{ dbt.type_string() }}) as tracking_url,
    {{ to_utc_timestamp("payload->>'$.created_at'") }} as fulfilled_at,
    'success' as status
from tracks
