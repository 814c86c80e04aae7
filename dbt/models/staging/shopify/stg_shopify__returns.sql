{{ order_payload_staging() }}
-- Customer returns on Shopify orders, one row per returned line (Shopify's Return has no request
-- time in the Admin API: the WMS's returns feed carries when the goods came back).
with returns as ({{ payload_items('shopify', '$.returns.nodes[*]', '$.currencyCode') }}),

return_lines as (
    select _store, id, _loaded_at, item as return_item, unnest(json_extract(item, '$.returnLineItems.nodes[*]')) as line
    from returns
)

select
    _store || ':' || replace(return_item->>'$.id', 'gid://shopify/Return/', '') || ':'
        || coalesce(replace(line->>'$.fulfillmentLineItem.lineItem.id', 'gid://shopify/LineItem/', ''), '') as return_line_key,
    _store || ':' || replace(return_item->>'$.id', 'gid://shopify/Return/', '') as return_key,
    _store || ':' || replace(id, 'gid://shopify/Order/', '') as order_key,
    _store as store_id,
    'shopify' as channel,
    return_item->>'$.name' as return_name,
    lower(return_item->>'$.status') as status,
    line->>'$.fulfillmentLineItem.lineItem.sku' as sku,
    cast(line->>'$.quantity' as integer) as quantity,
    lower(line->>'$.returnReason') as return_reason,
    line->>'$.returnReasonNote' as reason_note,
    _loaded_at
from return_lines
