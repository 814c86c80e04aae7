-- Shopify product variants as the store lists them (the SKU behind each variant, product and
-- inventory item id, price), latest version each.
with variants as ({{ latest_payloads('shopify', 'products') }})

select
    _store || ':' || replace(id, 'gid://shopify/ProductVariant/', '') as listing_key,
    _store as store_id,
    'shopify' as channel,
    payload->>'$.sku' as sku,
    replace(payload->>'$.product.id', 'gid://shopify/Product/', '') as channel_product_id,
    replace(id, 'gid://shopify/ProductVariant/', '') as channel_variant_id,
    replace(payload->>'$.inventoryItem.id', 'gid://shopify/InventoryItem/', '') as channel_inventory_item_id,
    payload->>'$.product.title' as title,
    {{ money("payload->>'$.price'") }} as price,
    updated_at as listing_seen_at
from variants
