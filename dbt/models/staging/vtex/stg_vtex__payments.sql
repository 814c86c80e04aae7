{{ order_payload_staging() }}
-- VTEX payments (paymentData.transactions[].payments[]), in cents in the API. A canceled order's
-- transaction is no longer active: its payment was given back (see stg_vtex__refunds).
with transactions as ({{ payload_items('vtex', '$.paymentData.transactions[*]', '$.storePreferencesData.currencyCode') }}),

payments as (
    select _store, id, _loaded_at, currency, item as tx, unnest(json_extract(item, '$.payments[*]')) as payment
    from transactions
),

orders as ({{ latest_payloads('vtex') }})

select
    p._store || ':' || (p.payment->>'$.id') as payment_key,
    p._store || ':' || p.id as order_key,
    p._store as store_id,
    'vtex' as channel,
    'sale' as kind,
    case when cast(p.tx->>'$.isActive' as boolean) then 'success' else 'voided' end as status,
    p.payment->>'$.paymentSystemName' as payment_method,
    {{ cents_to_money("p.payment->>'$.value'") }} as amount,
    p.currency,
    {{ to_utc_timestamp("o.payload->>'$.authorizedDate'") }} as processed_at,
    p._loaded_at
from payments as p
inner join orders as o on p._store = o._store and p.id = o.id
