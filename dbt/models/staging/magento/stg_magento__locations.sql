-- Magento MSI sources (where the store keeps stock), latest version each.
with sources as ({{ latest_payloads('magento', 'locations') }})

select
    _store || ':' || id as location_key,
    _store as store_id,
    'magento' as channel,
    id as channel_location_id,
    payload->>'$.name' as location_name,
    payload->>'$.country_id' as country,
    cast(payload->>'$.enabled' as boolean) as is_active,
    updated_at as location_seen_at
from sources
