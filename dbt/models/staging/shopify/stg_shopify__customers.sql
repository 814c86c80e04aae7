with customers as ({{ latest_payloads('shopify', 'customers') }})

select
    _store || ':' || replace(id, 'gid://shopify/Customer/', '') as customer_key,
    _store as store_id,
    'shopify' as channel,
    replace(id, 'gid://shopify/Customer/', '') as channel_customer_id,
    lower(payload->>'$.email') as email,
    payload->>'$.firstName' as first_name,
    payload->>'$.lastName' as last_name,
    payload->>'$.defaultAddress.countryCodeV2' as country,
    {{ to_utc_timestamp("payload->>'$.createdAt'") }} as created_at,
    updated_at,
    cast(payload->>'$.numberOfOrders' as integer) as orders_count,
    {{ money("payload->>'$.amountSpent.amount'") }} as amount_spent,
    payload->>'$.amountSpent.currencyCode' as currency
from customers
