{{ order_payload_staging() }}
with lines as ({{ payload_items('woocommerce', '$.line_items[*]', '$.currency') }})

select
    _store || ':' || id || ':' || (item->>'$.id') as order_line_key,
    _store || ':' || id as order_key,
    _store as store_id,
    'woocommerce' as channel,
    cast(row_number() over (partition by _store, id order by cast(item->>'$.id' as bigint)) as integer) as line_number,
    item->>'$.sku' as sku,
    cast(item->>'$.quantity' as integer) as quantity,
    {{ money("item->>'$.price'") }} as unit_price,
    {{ money("item->>'$.subtotal'") }} as gross_amount,
    round({{ money("item->>'$.subtotal'") }} - {{ money("item->>'$.total'") }}, 2) as discount_amount,
    currency,
    _loaded_at
from lines
