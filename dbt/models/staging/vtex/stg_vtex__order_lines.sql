{{ order_payload_staging() }}
-- VTEX items have no id of their own (item.id is the SKU id, and a SKU can be on two lines), so a
-- line is numbered by its position in the order's items array.
with lines as ({{ payload_items('vtex', '$.items[*]', '$.storePreferencesData.currencyCode') }})

select
    _store || ':' || id || ':' || cast(row_number() over (partition by _store, id order by item_index) as varchar) as order_line_key,
    _store || ':' || id as order_key,
    _store as store_id,
    'vtex' as channel,
    cast(row_number() over (partition by _store, id order by item_index) as integer) as line_number,
    item->>'$.refId' as sku,
    cast(item->>'$.quantity' as integer) as quantity,
    {{ cents_to_money("item->>'$.sellingPrice'") }} as unit_price,
    {{ cents_to_money("cast(item->>'$.sellingPrice' as bigint) * cast(item->>'$.quantity' as integer)") }} as gross_amount,
    {{ money("0") }} as discount_amount,
    currency,
    _loaded_at
from lines
