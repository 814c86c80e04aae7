-- WooCommerce products as the store lists them, latest listing each (stock is channel_inventory's).
with products as ({{ latest_payloads('woocommerce', 'products') }})

select
    _store || ':' || id as listing_key,
    _store as store_id,
    'woocommerce' as channel,
    payload->>'$.sku' as sku,
    id as channel_product_id,
    id as channel_variant_id,
    cast(null as {{ dbt.type_string() }}) as channel_inventory_item_id,
    payload->>'$.name' as title,
    {{ money("nullif(payload->>'$.regular_price', '')") }} as price,
    updated_at as listing_seen_at
from products
