{{ order_payload_staging() }}
-- Shopify refunds of the latest version of each order (money given back: a return or a cancellation).
with refunds as ({{ payload_items('shopify', '$.refunds[*]', '$.currencyCode') }})

select
    _store || ':' || replace(item->>'$.id', 'gid://shopify/Refund/', '') as refund_key,
    _store || ':' || replace(id, 'gid://shopify/Order/', '') as order_key,
    _store as store_id,
    'shopify' as channel,
    {{ to_utc_timestamp("item->>'$.createdAt'") }} as refunded_at,
    {{ money("item->>'$.totalRefundedSet.shopMoney.amount'") }} as amount,
    item->>'$.totalRefundedSet.shopMoney.currencyCode' as currency,
    item->>'$.note' as reason,
    -- what the refund gives back for goods, net of tax and shipping, where the refund says so: a
    -- refund listing refunded line items gives back those lines (its whole amount); null: a refund
    -- of the whole order, split downstream (fct_refunds)
    case when json_array_length(item, '$.refundLineItems.nodes') > 0
         then {{ money("item->>'$.totalRefundedSet.shopMoney.amount'") }} end as goods_amount,
    _loaded_at
from refunds
