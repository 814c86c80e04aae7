{{ order_payload_staging() }}
-- Magento's order payment (one per order); Magento captures when the order is placed.
with orders as ({{ latest_payloads('magento') }})

select
    _store || ':' || id as payment_key,
    _store || ':' || id as order_key,
    _store as store_id,
    'magento' as channel,
    'sale' as kind,
    case when payload->>'$.state' = 'canceled' then 'voided' else 'success' end as status,
    payload->>'$.payment.method' as payment_method,
    {{ money("payload->>'$.payment.amount_paid'") }} as amount,
    payload->>'$.order_currency_code' as currency,
    {{ to_utc_timestamp("payload->>'$.created_at'") }} as processed_at,
    _loaded_at
from orders
where payload->>'$.payment.amount_paid' is not null
