{{ order_payload_staging() }}
-- The tracking numbers a Shopify order shows on its fulfillments (one row per number), as of the
-- order's latest landed version.
with fulfillments as ({{ payload_items('shopify', '$.fulfillments[*]', '$.currencyCode') }}),

numbers as (
    select _store, id, _loaded_at, item as fulfillment, unnest(json_extract(item, '$.trackingInfo[*]')) as info,
           generate_subscripts(json_extract(item, '$.trackingInfo[*]'), 1) as info_index
    from fulfillments
)

select
    _store || ':' || replace(fulfillment->>'$.id', 'gid://shopify/Fulfillment/', '') || ':' || cast(info_index as {{ dbt.type_string() }}) as channel_fulfillment_key,
    _store || ':' || replace(id, 'gid://shopify/Order/', '') as order_key,
    _store as store_id,
    'shopify' as channel,
    info->>'$.number' as tracking_number,
    info->>'$.company' as carrier_name,
    info->>'$.url' as tracking_url,
    {{ to_utc_timestamp("fulfillment->>'$.createdAt'") }} as fulfilled_at,
    lower(fulfillment->>'$.status') as status,
    _loaded_at
from numbers
