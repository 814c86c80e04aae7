-- One row per order across every channel and store.
select
    o.order_key,
    o.channel,
    o.store_id,
    o.channel_order_id,
    o.order_number,
    lower(trim(o.customer_email)) as customer_email,
    o.channel_customer_id,
    o.currency,
    o.placed_at,
    o.paid_at,
    cast(o.placed_at as date) as placed_date,
    o.updated_at,
    o.canceled_at,
    o.channel_status,
    {{ money('o.gross_amount') }} as gross_amount,
    {{ money('o.discount_amount') }} as discount_amount,
    {{ money('o.shipping_amount') }} as shipping_amount,
    {{ money('o.tax_amount') }} as tax_amount,
    {{ money('o.total_amount') }} as total_amount,
    {{ money('o.refunded_amount') }} as refunded_amount,
    {{ money('o.gross_amount - o.discount_amount - o.refunded_amount') }} as net_amount,
    o.fx_rate,
    {{ money('o.total_amount_rc') }} as total_amount_rc,
    {{ money('o.net_sales_rc') }} as net_sales_rc,
    {{ dbt.dateadd('day', 's.promised_days', 'cast(o.placed_at as date)') }} as promised_delivery_date,
    case when o.canceled_at is not null then 'canceled' else 'open' end as current_state
from {{ ref('int_orders_unioned') }} as o
left join {{ ref('stores') }} as s
    on o.store_id = s.store_id
