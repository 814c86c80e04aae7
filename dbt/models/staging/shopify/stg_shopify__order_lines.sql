{{ order_payload_staging() }}
with lines as ({{ payload_items('shopify', '$.lineItems.nodes[*]', '$.currencyCode') }})

select
    _store || ':' || replace(id, 'gid://shopify/Order/', '') || ':' || replace(item->>'$.id', 'gid://shopify/LineItem/', '') as order_line_key,
    _store || ':' || replace(id, 'gid://shopify/Order/', '') as order_key,
    _store as store_id,
    'shopify' as channel,
    cast(row_number() over (partition by _store, id order by item->>'$.id') as integer) as line_number,
    item->>'$.sku' as sku,
    cast(item->>'$.quantity' as integer) as quantity,
    {{ money("item->>'$.originalUnitPriceSet.shopMoney.amount'") }} as unit_price,
    round({{ money("item->>'$.originalUnitPriceSet.shopMoney.amount'") }} * cast(item->>'$.quantity' as integer), 2) as gross_amount,
    {{ money("item->>'$.totalDiscountSet.shopMoney.amount'") }} as discount_amount,
    currency,
    _loaded_at
from lines
