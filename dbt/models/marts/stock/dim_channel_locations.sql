-- One row per place a channel store keeps stock (Shopify location, Magento source, VTEX warehouse).
select
    location_key,
    store_id,
    channel,
    channel_location_id,
    location_name,
    country,
    is_active,
    location_seen_at
from {{ ref('int_channel_locations') }}
