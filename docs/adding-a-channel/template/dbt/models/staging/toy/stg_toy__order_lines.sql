-- Toy Shop's order lines (the ``lines`` of the latest version of each order), with the columns
-- the union of every channel's order lines (int_order_lines_unioned) selects.
{{ order_payload_staging() }}
with lines as ({{ payload_items('toy', '$.lines[*]', '$.currency') }})

select
    _store || ':' || id || ':' || (item->>'$.id') as order_line_key,
    _store || ':' || id as order_key,
    _store as store_id,
    'toy' as channel,
    cast(item_index as integer) as line_number,
    item->>'$.sku' as sku,
    cast(item->>'$.quantity' as integer) as quantity,
    {{ money("item->>'$.price'") }} as unit_price,
    {{ money("item->>'$.total'") }} as gross_amount,
    {{ money("coalesce(item->>'$.discount', '0')") }} as discount_amount,
    currency,
    _loaded_at
from lines
