with locations as ({{ latest_payloads('shopify', 'locations') }})

select
    _store || ':' || replace(id, 'gid://shopify/Location/', '') as location_key,
    _store as store_id,
    'shopify' as channel,
    id as channel_location_id,
    payload->>'$.name' as location_name,
    payload->>'$.address.countryCode' as country,
    cast(payload->>'$.isActive' as boolean) as is_active,
    updated_at as location_seen_at
from locations
