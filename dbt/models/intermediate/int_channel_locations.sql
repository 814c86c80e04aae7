-- Where each channel store keeps stock (Shopify locations, Magento sources, VTEX warehouses).
{% set columns = ['location_key', 'store_id', 'channel', 'channel_location_id', 'location_name', 'country',
                  'is_active', 'location_seen_at'] %}
{{ union_staging(channel_staging_models('locations'), columns) }}
