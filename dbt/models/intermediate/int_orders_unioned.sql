-- Every channel's orders in one shape, money in order currency and in the reporting currency.
{% set columns = ['order_key', 'store_id', 'channel', 'channel_order_id', 'order_number', 'customer_email',
                  'channel_customer_id', 'currency', 'placed_at', 'paid_at', 'updated_at', 'canceled_at', 'channel_status',
                  'gross_amount', 'discount_amount', 'shipping_amount', 'tax_amount', 'total_amount',
                  'refunded_amount', '_loaded_at'] %}
with unioned as (
    {{ union_staging(channel_staging_models('orders'), columns) }}
)

select
    unioned.*,
    rates.rate_to_eur as fx_rate,
    {{ money_at_rate('unioned.total_amount', 'rates.rate_to_eur') }} as total_amount_rc,
    {{ money_at_rate('unioned.gross_amount - unioned.discount_amount', 'rates.rate_to_eur') }} as net_sales_rc
from unioned
left join {{ ref('int_currency_rates') }} as rates
    on {{ currency_rate_on('rates', 'unioned.currency', 'unioned.placed_at') }}
