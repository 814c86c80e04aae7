-- What each channel store lists: one row per variant (or product) with the SKU behind it.
{% set columns = ['listing_key', 'store_id', 'channel', 'sku', 'channel_product_id', 'channel_variant_id',
                  'channel_inventory_item_id', 'title', 'price', 'listing_seen_at'] %}
{{ union_staging(channel_staging_models('products'), columns) }}
