{{ order_payload_staging() }}
-- VTEX amounts are integer cents; totals come as a list of {id, value}.
with orders as ({{ latest_payloads('vtex') }}),

totals as (
    select _store, id,
           {{ cents_to_money("sum(case when t->>'$.id' = 'Items' then cast(t->>'$.value' as bigint) else 0 end)") }} as items,
           {{ cents_to_money("-sum(case when t->>'$.id' = 'Discounts' then cast(t->>'$.value' as bigint) else 0 end)") }} as discounts,
           {{ cents_to_money("sum(case when t->>'$.id' = 'Shipping' then cast(t->>'$.value' as bigint) else 0 end)") }} as shipping,
           {{ cents_to_money("sum(case when t->>'$.id' = 'Tax' then cast(t->>'$.value' as bigint) else 0 end)") }} as tax
    from (select _store, id, unnest(json_extract(payload, '$.totals[*]')) as t from orders) as x
    group by _store, id
),

-- money given back: a return's "Input" invoice, or the whole payment of a paid order canceled
returns as (
    select _store, id, {{ cents_to_money("sum(cast(p->>'$.invoiceValue' as bigint))") }} as returned
    from (select _store, id, unnest(json_extract(payload, '$.packageAttachment.packages[*]')) as p from orders) as x
    where p->>'$.type' = 'Input'
    group by _store, id
)

select
    o._store || ':' || o.id as order_key,
    o._store as store_id,
    'vtex' as channel,
    o.id as channel_order_id,
    o.payload->>'$.sequence' as order_number,
    o.payload->>'$.clientProfileData.email' as customer_email,
    o.payload->>'$.clientProfileData.userProfileId' as channel_customer_id,
    o.payload->>'$.storePreferencesData.currencyCode' as currency,
    {{ to_utc_timestamp("o.payload->>'$.creationDate'") }} as placed_at,
    {{ to_utc_timestamp("o.payload->>'$.authorizedDate'") }} as paid_at,
    o.updated_at,
    {{ to_utc_timestamp("o.payload->>'$.cancellationData.CancellationDate'") }} as canceled_at,
    o.payload->>'$.status' as channel_status,
    t.items as gross_amount,
    t.discounts as discount_amount,
    t.shipping as shipping_amount,
    t.tax as tax_amount,
    {{ cents_to_money("o.payload->>'$.value'") }} as total_amount,
    {{ money("coalesce(r.returned, 0)
        + case when o.payload->>'$.cancellationData.CancellationDate' is not null
                    and o.payload->>'$.authorizedDate' is not null
               then " ~ cents_to_money("o.payload->>'$.value'") ~ " else 0 end") }} as refunded_amount,
    o._loaded_at
from orders as o
left join totals as t on o._store = t._store and o.id = t.id
left join returns as r on o._store = r._store and o.id = r.id
