-- Magento catalogue products as the store lists them, latest version each.
with products as ({{ latest_payloads('magento', 'products') }})

select
    _store || ':' || id as listing_key,
    _store as store_id,
    'magento' as channel,
    payload->>'$.sku' as sku,
    id as channel_product_id,
    id as channel_variant_id,
    cast(null as {{ dbt.type_string() }}) as channel_inventory_item_id,
    payload->>'$.name' as title,
    {{ money("payload->>'$.price'") }} as price,
    updated_at as listing_seen_at
from products
