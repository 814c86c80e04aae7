{{ order_payload_staging() }}
with orders as ({{ latest_payloads('woocommerce') }}),

-- canceled_at: the first time the order was seen canceled (the updated_at of its earliest landed
-- version in that state); the API gives no cancel time of its own and updated_at moves with every
-- later change (a comment, a refund). Only the orders read above are ranked again.
first_canceled as (
    select v._store as canceled_store, v.id as canceled_id, min(v.updated_at) as canceled_at
    from {{ source('woocommerce', 'woocommerce__orders') }} as v
    inner join orders as o on v._store = o._store and v.id = o.id
    where v.payload->>'$.status' = 'cancelled'
    group by v._store, v.id
),

line_totals as (
    select _store, id, sum({{ money("item->>'$.subtotal'") }}) as gross_amount
    from (select _store, id, unnest(json_extract(payload, '$.line_items[*]')) as item from orders) as l
    group by _store, id
),

refunds as (
    select _store, id, -sum({{ money("refund->>'$.total'") }}) as refunded_amount
    from (select _store, id, unnest(json_extract(payload, '$.refunds[*]')) as refund from orders) as r
    group by _store, id
)

select
    o._store || ':' || o.id as order_key,
    o._store as store_id,
    'woocommerce' as channel,
    o.id as channel_order_id,
    o.payload->>'$.number' as order_number,
    o.payload->>'$.billing.email' as customer_email,
    nullif(o.payload->>'$.customer_id', '0') as channel_customer_id,
    o.payload->>'$.currency' as currency,
    {{ to_utc_timestamp("o.payload->>'$.date_created_gmt'") }} as placed_at,
    {{ to_utc_timestamp("o.payload->>'$.date_paid_gmt'") }} as paid_at,
    o.updated_at,
    case when o.payload->>'$.status' = 'cancelled' then c.canceled_at end as canceled_at,
    o.payload->>'$.status' as channel_status,
    round(coalesce(t.gross_amount, 0), 2) as gross_amount,
    {{ money("o.payload->>'$.discount_total'") }} as discount_amount,
    {{ money("o.payload->>'$.shipping_total'") }} as shipping_amount,
    {{ money("o.payload->>'$.total_tax'") }} as tax_amount,
    {{ money("o.payload->>'$.total'") }} as total_amount,
    coalesce(r.refunded_amount, 0) as refunded_amount,
    o._loaded_at
from orders as o
left join line_totals as t on o._store = t._store and o.id = t.id
left join refunds as r on o._store = r._store and o.id = r.id
left join first_canceled as c on o._store = c.canceled_store and o.id = c.canceled_id
