-- The customer accounts each channel store keeps (VTEX's OMS lists none: its buyers' profiles come
-- with each order). One row per store and account.
{% set columns = ['customer_key', 'store_id', 'channel', 'channel_customer_id', 'email', 'first_name', 'last_name',
                  'country', 'created_at', 'updated_at', 'orders_count', 'amount_spent', 'currency'] %}
{{ union_staging(channel_staging_models('customers'), columns) }}
