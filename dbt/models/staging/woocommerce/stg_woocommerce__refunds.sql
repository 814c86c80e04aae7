-- WooCommerce refunds (GET /orders/{id}/refunds, tagged with their order), latest version each; a
-- refund carries no currency: it is its order's.
with refunds as ({{ latest_payloads('woocommerce', 'refunds') }}),

orders as ({{ latest_payloads('woocommerce') }})

select
    r._store || ':' || (r.payload->>'$.order_id') || ':' || r.id as refund_key,
    r._store || ':' || (r.payload->>'$.order_id') as order_key,
    r._store as store_id,
    'woocommerce' as channel,
    r.updated_at as refunded_at,
    {{ money("r.payload->>'$.amount'") }} as amount,
    o.payload->>'$.currency' as currency,
    r.payload->>'$.reason' as reason,
    -- what the refund gives back for goods, net of tax and shipping, where it says so: a refund
    -- listing line items gives back those lines (its whole amount); null: a refund of the whole
    -- order, split downstream (fct_refunds)
    case when json_array_length(r.payload, '$.line_items') > 0 then {{ money("r.payload->>'$.amount'") }} end
        as goods_amount
from refunds as r
left join orders as o on r._store = o._store and r.payload->>'$.order_id' = o.id
