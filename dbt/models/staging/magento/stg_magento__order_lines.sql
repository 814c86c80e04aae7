{{ order_payload_staging() }}
with lines as ({{ payload_items('magento', '$.items[*]', '$.order_currency_code') }})

select
    _store || ':' || id || ':' || (item->>'$.item_id') as order_line_key,
    _store || ':' || id as order_key,
    _store as store_id,
    'magento' as channel,
    cast(row_number() over (partition by _store, id order by cast(item->>'$.item_id' as bigint)) as integer) as line_number,
    item->>'$.sku' as sku,
    cast(item->>'$.qty_ordered' as integer) as quantity,
    {{ money("item->>'$.price'") }} as unit_price,
    {{ money("item->>'$.row_total'") }} as gross_amount,
    {{ money("item->>'$.discount_amount'") }} as discount_amount,
    currency,
    _loaded_at
from lines
