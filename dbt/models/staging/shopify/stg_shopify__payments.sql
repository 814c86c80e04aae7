{{ order_payload_staging() }}
-- Shopify order transactions: the sale (or authorization / capture) and any refund given back.
with transactions as ({{ payload_items('shopify', '$.transactions[*]', '$.currencyCode') }})

select
    _store || ':' || replace(item->>'$.id', 'gid://shopify/OrderTransaction/', '') as payment_key,
    _store || ':' || replace(id, 'gid://shopify/Order/', '') as order_key,
    _store as store_id,
    'shopify' as channel,
    lower(item->>'$.kind') as kind,
    lower(item->>'$.status') as status,
    item->>'$.gateway' as payment_method,
    {{ money("item->>'$.amountSet.shopMoney.amount'") }} as amount,
    item->>'$.amountSet.shopMoney.currencyCode' as currency,
    {{ to_utc_timestamp("item->>'$.processedAt'") }} as processed_at,
    _loaded_at
from transactions
