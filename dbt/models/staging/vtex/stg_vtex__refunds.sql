{{ order_payload_staging() }}
-- VTEX money given back: a return is an "Input" invoice in packageAttachment; a paid order that is
-- canceled has its whole payment given back at cancellation (VTEX issues no invoice for it).
with invoices as ({{ payload_items('vtex', '$.packageAttachment.packages[*]', '$.storePreferencesData.currencyCode') }}),

orders as ({{ latest_payloads('vtex') }})

select
    _store || ':' || id || ':' || (item->>'$.invoiceNumber') as refund_key,
    _store || ':' || id as order_key,
    _store as store_id,
    'vtex' as channel,
    {{ to_utc_timestamp("item->>'$.issuanceDate'") }} as refunded_at,
    {{ cents_to_money("item->>'$.invoiceValue'") }} as amount,
    currency,
    item->>'$.restitutions.Refund.reason' as reason,
    -- an Input invoice listing the returned items gives back those goods (its whole value); null:
    -- a refund of the whole order, split downstream (fct_refunds)
    case when json_array_length(item, '$.items') > 0 then {{ cents_to_money("item->>'$.invoiceValue'") }} end
        as goods_amount,
    _loaded_at
from invoices
where item->>'$.type' = 'Input'

union all

select
    _store || ':' || id || ':cancellation' as refund_key,
    _store || ':' || id as order_key,
    _store as store_id,
    'vtex' as channel,
    {{ to_utc_timestamp("payload->>'$.cancellationData.CancellationDate'") }} as refunded_at,
    {{ cents_to_money("payload->>'$.value'") }} as amount,
    payload->>'$.storePreferencesData.currencyCode' as currency,
    'canceled after payment' as reason,
    cast(null as {{ money_type() }}) as goods_amount,
    _loaded_at
from orders
where payload->>'$.cancellationData.CancellationDate' is not null
    and payload->>'$.authorizedDate' is not null
