{{ config(materialized='incremental', unique_key='order_line_key', on_schema_change='append_new_columns') }}
-- One row per order line across every channel, with its order's context; incremental on the
-- order's load time: when an order is landed again, its lines are replaced (unique_key).
select
    l.order_line_key,
    l.order_key,
    l.channel,
    l.store_id,
    l.line_number,
    l.sku,
    l.quantity,
    {{ money('l.unit_price') }} as unit_price,
    {{ money('l.gross_amount') }} as gross_amount,
    {{ money('l.discount_amount') }} as discount_amount,
    {{ money('l.gross_amount - l.discount_amount') }} as net_amount,
    l.currency,
    {{ money('l.net_amount_rc') }} as net_amount_rc,
    o.placed_at,
    cast(o.placed_at as date) as placed_date,
    lower(trim(o.customer_email)) as customer_email,
    o._loaded_at
from {{ ref('int_order_lines_unioned') }} as l
inner join {{ ref('int_orders_unioned') }} as o
    on l.order_key = o.order_key
{% if is_incremental() %}
where o._loaded_at > {{ last_loaded_at() }}
{% endif %}
