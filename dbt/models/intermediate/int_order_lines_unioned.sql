-- Every channel's order lines in one shape.
{% set columns = ['order_line_key', 'order_key', 'store_id', 'channel', 'line_number', 'sku', 'quantity',
                  'unit_price', 'gross_amount', 'discount_amount', 'currency'] %}
with unioned as (
    {{ union_staging(channel_staging_models('order_lines'), columns) }}
)

select
    unioned.*,
    {{ money_at_rate('unioned.gross_amount - unioned.discount_amount', 'orders.fx_rate') }} as net_amount_rc
from unioned
left join {{ ref('int_orders_unioned') }} as orders  -- a line converts at its order's rate (the rate of its placed day)
    on unioned.order_key = orders.order_key
