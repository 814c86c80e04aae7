-- Every channel's order lines in one shape.
{% set columns = ['order_line_key', 'order_key', 'store_id', 'channel', 'line_number', 'sku', 'quantity',
                  'unit_price', 'gross_amount', 'discount_amount', 'currency'] %}
with unioned as (
    {{ union_staging(channel_staging_models('order_lines'), columns) }}
)

select
    unioned.*,
    {{ money_at_rate('unioned.gross_amount - unioned.discount_amount', 'rates.rate_to_eur') }} as net_amount_rc
from unioned
left join {{ ref('currency_rates') }} as rates
    on unioned.currency = rates.currency
