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
    _loaded_at
from refunds
