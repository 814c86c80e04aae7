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
    {{ to_utc_timestamp("payload->>'$.createdAt'") }} as placed_at,
    {{ to_utc_timestamp("payload->>'$.processedAt'") }} as paid_at,
    updated_at,
    {{ to_utc_timestamp("payload->>'$.cancelledAt'") }} as canceled_at,
    payload->>'$.displayFinancialStatus' || '/' || (payload->>'$.displayFulfillmentStatus') as channel_status,
    {{ money("payload->>'$.subtotalPriceSet.shopMoney.amount'") }}
        + {{ money("payload->>'$.totalDiscountsSet.shopMoney.amount'") }} as gross_amount,
    {{ money("payload->>'$.totalDiscountsSet.shopMoney.amount'") }} as discount_amount,
    {{ money("payload->>'$.totalShippingPriceSet.shopMoney.amount'") }} as shipping_amount,
    {{ money("payload->>'$.totalTaxSet.shopMoney.amount'") }} as tax_amount,
    {{ money("payload->>'$.totalPriceSet.shopMoney.amount'") }} as total_amount,
    coalesce({{ money("payload->>'$.totalRefundedSet.shopMoney.amount'") }}, 0) as refunded_amount,
    _loaded_at
from orders
