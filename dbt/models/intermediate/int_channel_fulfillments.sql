-- The tracking numbers the channels show on their orders (Shopify fulfillments, VTEX invoices,
-- Magento shipment tracks):
-- what the tracking write-back told them, read back.
{% set columns = ['channel_fulfillment_key', 'order_key', 'store_id', 'channel', 'tracking_number', 'carrier_name',
                  'tracking_url', 'fulfilled_at', 'status'] %}
{{ union_staging(channel_staging_models('fulfillments'), columns) }}
