with customers as ({{ latest_payloads('woocommerce', 'customers') }})

select
    _store || ':' || id as customer_key,
    _store as store_id,
    'woocommerce' as channel,
    id as channel_customer_id,
    lower(payload->>'$.email') as email,
    payload->>'$.first_name' as first_name,
    payload->>'$.last_name' as last_name,
    payload->>'$.billing.country' as country,
    {{ to_utc_timestamp("payload->>'$.date_created_gmt'") }} as created_at,
    updated_at,
    cast(null as integer) as orders_count,
    {{ money("null") }} as amount_spent,
    cast(null as {{ dbt.type_string() }}) as currency
from customers
