{{ order_payload_staging() }}
-- WooCommerce's order payment: the gateway, its transaction id and when the order was paid.
with orders as ({{ latest_payloads('woocommerce') }})

select
    _store || ':' || id as payment_key,
    _store || ':' || id as order_key,
    _store as store_id,
    'woocommerce' as channel,
    'sale' as kind,
    case when payload->>'$.status' = 'cancelled' then 'voided' else 'success' end as status,
    payload->>'$.payment_method' as payment_method,
    {{ money("payload->>'$.total'") }} as amount,
    payload->>'$.currency' as currency,
    {{ to_utc_timestamp("payload->>'$.date_paid_gmt'") }} as processed_at,
    _loaded_at
from orders
where payload->>'$.date_paid_gmt' is not null
