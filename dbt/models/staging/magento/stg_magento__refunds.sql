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
    payload->>'$.comments[0].comment' as reason
from memos
