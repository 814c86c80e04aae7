-- What each channel store shows per SKU and location: the latest reading of each.
select
    {{ dbt.concat(["_store", "':'", "sku", "':'", "coalesce(location_id, '')"]) }} as inventory_level_key,
    _store as store_id,
    sku,
    location_id,
    cast(available as integer) as available,
    observed_at,
    _loaded_at
from ({{ latest_version(source('channels', 'channels__inventory_levels'), '_store, sku, location_id', 'observed_at desc, _loaded_at desc') }}) as latest
