{{ order_payload_staging() }}
-- The tracking numbers a VTEX order shows: its Output invoices (one per package) in packageAttachment,
-- with whether the courier marked them delivered.
with invoices as ({{ payload_items('vtex', '$.packageAttachment.packages[*]', '$.storePreferencesData.currencyCode') }})

select
    _store || ':' || id || ':' || (item->>'$.invoiceNumber') as channel_fulfillment_key,
    _store || ':' || id as order_key,
    _store as store_id,
    'vtex' as channel,
    item->>'$.trackingNumber' as tracking_number,
    item->>'$.courier' as carrier_name,
    item->>'$.trackingUrl' as tracking_url,
    cast(coalesce(item->>'$.dispatchedDate', item->>'$.issuanceDate') as timestamp) as fulfilled_at,
    case when cast(item->>'$.courierStatus.finished' as boolean) then 'delivered' else 'success' end as status,
    _loaded_at
from invoices
where coalesce(item->>'$.type', 'Output') = 'Output'
