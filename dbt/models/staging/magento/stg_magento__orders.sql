{{ order_payload_staging() }}
-- Magento times are UTC ("Y-m-d H:i:s"); discount_amount is negative in the API.
with orders as ({{ latest_payloads('magento') }}),

-- canceled_at: the first time the order was seen canceled (the updated_at of its earliest landed
-- version in that state); the API gives no cancel time of its own and updated_at moves with every
-- later change (a comment, a refund). Only the orders read above are ranked again.
first_canceled as (
    select v._store as canceled_store, v.id as canceled_id, min(v.updated_at) as canceled_at
    from {{ source('magento', 'magento__orders') }} as v
    inner join orders as o on v._store = o._store and v.id = o.id
    where v.payload->>'$.state' = 'canceled'
    group by v._store, v.id
)

select
    _store || ':' || id as order_key,
    _store as store_id,
    'magento' as channel,
    id as channel_order_id,
    payload->>'$.increment_id' as order_number,
    payload->>'$.customer_email' as customer_email,
    payload->>'$.customer_id' as channel_customer_id,
    payload->>'$.order_currency_code' as currency,
    {{ to_utc_timestamp("payload->>'$.created_at'") }} as placed_at,
    -- Magento captures card payments when the order is placed: paid once it left "new"
    case when payload->>'$.state' in ('processing', 'complete', 'closed') then {{ to_utc_timestamp("payload->>'$.created_at'") }} end as paid_at,
    updated_at,
    case when o.payload->>'$.state' = 'canceled' then c.canceled_at end as canceled_at,
    payload->>'$.status' as channel_status,
    {{ money("payload->>'$.subtotal'") }} as gross_amount,
    -{{ money("payload->>'$.discount_amount'") }} as discount_amount,
    {{ money("payload->>'$.shipping_amount'") }} as shipping_amount,
    {{ money("payload->>'$.tax_amount'") }} as tax_amount,
    {{ money("payload->>'$.grand_total'") }} as total_amount,
    coalesce({{ money("payload->>'$.total_refunded'") }}, 0) as refunded_amount,
    _loaded_at
from orders as o
left join first_canceled as c on o._store = c.canceled_store and o.id = c.canceled_id
