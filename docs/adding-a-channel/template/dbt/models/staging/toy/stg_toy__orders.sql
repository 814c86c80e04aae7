-- Toy Shop's orders (raw.toy__orders), the latest version of each, with the columns the union of
-- every channel's orders (int_orders_unioned) selects.
{{ order_payload_staging() }}
with orders as ({{ latest_payloads('toy') }}),

line_totals as (
    select _store, id, sum({{ money("item->>'$.total'") }}) as gross_amount
    from (select _store, id, unnest(json_extract(payload, '$.lines[*]')) as item from orders) as l
    group by _store, id
)

select
    o._store || ':' || o.id as order_key,
    o._store as store_id,
    'toy' as channel,
    o.id as channel_order_id,
    o.payload->>'$.number' as order_number,
    lower(o.payload->>'$.email') as customer_email,
    o.payload->>'$.customer_id' as channel_customer_id,
    o.payload->>'$.currency' as currency,
    {{ to_utc_timestamp("o.payload->>'$.created_at'") }} as placed_at,
    {{ to_utc_timestamp("o.payload->>'$.paid_at'") }} as paid_at,
    o.updated_at,
    case when o.payload->>'$.status' = 'cancelled' then o.updated_at end as canceled_at,
    o.payload->>'$.status' as channel_status,
    coalesce(t.gross_amount, 0) as gross_amount,
    {{ money("o.payload->>'$.discount'") }} as discount_amount,
    {{ money("o.payload->>'$.shipping'") }} as shipping_amount,
    {{ money("o.payload->>'$.tax'") }} as tax_amount,
    {{ money("o.payload->>'$.total'") }} as total_amount,
    {{ money("coalesce(o.payload->>'$.refunded', '0')") }} as refunded_amount,
    o._loaded_at
from orders as o
left join line_totals as t on o._store = t._store and o.id = t.id
