-- VTEX logistics warehouses, latest version each (VTEX lists no country for a warehouse).
with warehouses as ({{ latest_payloads('vtex', 'locations') }})

select
    _store || ':' || id as location_key,
    _store as store_id,
    'vtex' as channel,
    id as channel_location_id,
    payload->>'$.name' as location_name,
    cast(null as {{ dbt.type_string() }}) as country,
    true as is_active,
    updated_at as location_seen_at
from warehouses
