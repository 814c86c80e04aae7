{{ order_payload_staging() }}
with orders as ({{ latest_payloads('shopify') }})

select
    _store || ':' || replace(id, 'gid://shopify/Order/', '') as order_key,
    _store as store_id,
    'shopify' as channel,
    replace(id, 'gid://shopify/Order/', '') as channel_order_id,
    payload->>'$.name' as order_number,
    payload->>'$.email' as customer_email,
    replace(payload->>'$.customer.id', 'gid://shopify/Customer/', '') as channel_customer_id,
    payload->>'$.currencyCode' as currency,
    cast(payload->>'$.createdAt' as timestamp) as placed_at,
    cast(payload->>'$.processedAt' as timestamp) as paid_at,
    updated_at,
    cast(payload->>'$.cancelledAt' as timestamp) as canceled_at,
    payload->>'$.displayFinancialStatus' || '/' || (payload->>'$.displayFulfillmentStatus') as channel_status,
    cast(payload->>'$.subtotalPriceSet.shopMoney.amount' as double)
        + cast(payload->>'$.totalDiscountsSet.shopMoney.amount' as double) as gross_amount,
    cast(payload->>'$.totalDiscountsSet.shopMoney.amount' as double) as discount_amount,
    cast(payload->>'$.totalShippingPriceSet.shopMoney.amount' as double) as shipping_amount,
    cast(payload->>'$.totalTaxSet.shopMoney.amount' as double) as tax_amount,
    cast(payload->>'$.totalPriceSet.shopMoney.amount' as double) as total_amount,
    coalesce(cast(payload->>'$.totalRefundedSet.shopMoney.amount' as double), 0) as refunded_amount,
    _loaded_at
from orders
