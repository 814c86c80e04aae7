-- Magento credit memos (refunds), latest version each; times are UTC ("Y-m-d H:i:s").
with memos as ({{ latest_payloads('magento', 'creditmemos') }})

select
    _store || ':' || id as refund_key,
    _store || ':' || (payload->>'$.order_id') as order_key,
    _store as store_id,
    'magento' as channel,
    {{ to_utc_timestamp("payload->>'$.created_at'") }} as refunded_at,
    {{ money("payload->>'$.grand_total'") }} as amount,
    payload->>'$.order_currency_code' as currency,
    payload->>'$.comments[0].comment' as reason,
    -- what the memo gives back for goods, net of tax and shipping, where the memo says so: its
    -- subtotal when it carries one, else its whole amount when it lists refunded items; null: a
    -- memo of the whole order, split downstream (fct_refunds)
    coalesce({{ money("payload->>'$.subtotal'") }},
             case when json_array_length(payload, '$.items') > 0 then {{ money("payload->>'$.grand_total'") }} end)
        as goods_amount
from memos
