{{ config(materialized='incremental', unique_key='order_key', incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}
-- One row per order line across every channel, with its order's context; incremental on the
-- order's load time: when an order is landed again, ALL of its lines are replaced by those of its
-- latest version (delete+insert by order), so a line the new version no longer has goes away.
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
    -- the line's other amounts in the reporting currency, at its order's rate (of its placed day)
    {{ money_at_rate('l.unit_price', 'o.fx_rate') }} as unit_price_rc,
    {{ money_at_rate('l.gross_amount', 'o.fx_rate') }} as gross_amount_rc,
    {{ money_at_rate('l.discount_amount', 'o.fx_rate') }} as discount_amount_rc,
    o.placed_at,
    {{ local_date('o.placed_at', 'st.timezone') }} as placed_date,  -- the store's local day
    lower(trim(o.customer_email)) as customer_email,
    o._loaded_at
from {{ ref('int_order_lines_unioned') }} as l
inner join {{ ref('int_orders_unioned') }} as o
    on l.order_key = o.order_key
left join {{ ref('dim_stores') }} as st
    on o.store_id = st.store_id
{% if is_incremental() %}
where o._loaded_at > {{ last_loaded_at() }}
{% endif %}
