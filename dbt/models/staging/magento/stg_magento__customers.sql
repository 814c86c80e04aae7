with customers as ({{ latest_payloads('magento', 'customers') }})

select
    _store || ':' || id as customer_key,
    _store as store_id,
    'magento' as channel,
    id as channel_customer_id,
    lower(payload->>'$.email') as email,
    payload->>'$.firstname' as first_name,
    payload->>'$.lastname' as last_name,
    payload->>'$.addresses[0].country_id' as country,
    {{ to_utc_timestamp("payload->>'$.created_at'") }} as created_at,
    updated_at,
    cast(null as integer) as orders_count,
    {{ money("null") }} as amount_spent,
    cast(null as {{ dbt.type_string() }}) as currency
from customers
