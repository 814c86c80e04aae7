{{ order_payload_staging() }}
-- Magento times are UTC ("Y-m-d H:i:s"); discount_amount is negative in the API.
with orders as ({{ latest_payloads('magento') }})

select
    _store || ':' || id as order_key,
    _store as store_id,
    'magento' as channel,
    id as channel_order_id,
    payload->>'$.increment_id' as order_number,
    payload->>'$.customer_email' as customer_email,
    payload->>'$.customer_id' as channel_customer_id,
    payload->>'$.order_currency_code' as currency,
    cast(payload->>'$.created_at' as timestamp) as placed_at,
    -- Magento captures card payments when the order is placed: paid once it left "new"
    case when payload->>'$.state' in ('processing', 'complete', 'closed') then cast(payload->>'$.created_at' as timestamp) end as paid_at,
    updated_at,
    case when payload->>'$.state' = 'canceled' then updated_at end as canceled_at,
    payload->>'$.status' as channel_status,
    cast(payload->>'$.subtotal' as double) as gross_amount,
    -cast(payload->>'$.discount_amount' as double) as discount_amount,
    cast(payload->>'$.shipping_amount' as double) as shipping_amount,
    cast(payload->>'$.tax_amount' as double) as tax_amount,
    cast(payload->>'$.grand_total' as double) as total_amount,
    coalesce(cast(payload->>'$.total_refunded' as double), 0) as refunded_amount,
    _loaded_at
from orders
