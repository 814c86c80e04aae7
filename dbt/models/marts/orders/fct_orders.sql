{%- set refunded_goods = "least(o.gross_amount - o.discount_amount, case
        when rf.amount > 0 then round(o.refunded_amount * rf.goods_amount / rf.amount, 2)
        when rl.goods_amount is not null then least(o.refunded_amount, rl.goods_amount)
        when o.total_amount > 0 then round(o.refunded_amount * (o.gross_amount - o.discount_amount) / o.total_amount, 2)
        else o.refunded_amount end)" -%}
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
    {{ local_date('o.placed_at', 's.timezone') }} as placed_date,  -- the store's local day
    o.updated_at,
    o.canceled_at,
    o.channel_status,
    {{ money('o.gross_amount') }} as gross_amount,
    {{ money('o.discount_amount') }} as discount_amount,
    {{ money('o.shipping_amount') }} as shipping_amount,
    {{ money('o.tax_amount') }} as tax_amount,
    {{ money('o.total_amount') }} as total_amount,
    {{ money('o.refunded_amount') }} as refunded_amount,
    -- refunds on the basis of net sales (net of tax and shipping): the goods share of what was
    -- refunded, as the order's refunds say (fct_refunds.goods_amount); else, when the warehouse
    -- received lines the customer sent back, the refund up to those lines' net value (a refund
    -- that names no lines, such as a marketplace's ERP credit note, for a customer's return); else
    -- in the order's own proportions (gross - discount) / total; never more than the goods sold
    {{ money(refunded_goods) }} as refunded_goods_amount,
    {{ money('o.gross_amount - o.discount_amount - ' ~ refunded_goods) }} as net_amount,
    o.fx_rate,
    {{ money('o.total_amount_rc') }} as total_amount_rc,
    {{ money('o.net_sales_rc') }} as net_sales_rc,
    -- each amount above in the reporting currency too, at the order's rate (of its placed day)
    {{ money_at_rate('o.gross_amount', 'o.fx_rate') }} as gross_amount_rc,
    {{ money_at_rate('o.discount_amount', 'o.fx_rate') }} as discount_amount_rc,
    {{ money_at_rate('o.shipping_amount', 'o.fx_rate') }} as shipping_amount_rc,
    {{ money_at_rate('o.tax_amount', 'o.fx_rate') }} as tax_amount_rc,
    {{ money_at_rate('o.refunded_amount', 'o.fx_rate') }} as refunded_amount_rc,
    {{ money_at_rate(refunded_goods, 'o.fx_rate') }} as refunded_goods_amount_rc,
    {{ money_at_rate('o.gross_amount - o.discount_amount - ' ~ refunded_goods, 'o.fx_rate') }} as net_amount_rc,
    -- the promise: the delivery date a marketplace export states for the order, else the store's
    cast(coalesce({{ local_date('mp.estimated_delivery_at', 's.timezone') }},
        {{ dbt.dateadd('day', 's.promised_days', local_date('o.placed_at', 's.timezone')) }}) as date) as promised_delivery_date,
    -- the end of the promised local day, as a UTC instant: delivered before it is on time
    coalesce({{ local_to_utc(dbt.dateadd('day', 1, 'cast(' ~ local_date('mp.estimated_delivery_at', 's.timezone') ~ ' as timestamp)'), 's.timezone') }},
        {{ local_to_utc(dbt.dateadd('day', 's.promised_days + 1', 'cast(' ~ local_date('o.placed_at', 's.timezone') ~ ' as timestamp)'), 's.timezone') }})
        as promised_delivery_by,
    case when o.canceled_at is not null then 'canceled' else 'open' end as current_state
from {{ ref('int_orders_unioned') }} as o
left join (
    select order_key, sum(amount) as amount, sum(goods_amount) as goods_amount
    from {{ ref('fct_refunds') }}
    group by order_key
) as rf
    on o.order_key = rf.order_key
left join (
    -- the net value of the lines customers sent back (a carrier's return to sender names no line)
    select r.order_key, sum(round(l.net_amount * least(1.0, r.quantity * 1.0 / l.quantity), 2)) as goods_amount
    from {{ ref('stg_wms__returns_received') }} as r
    inner join (
        select order_key, sku, sum(quantity) as quantity, sum(gross_amount - discount_amount) as net_amount
        from {{ ref('int_order_lines_unioned') }}
        where quantity > 0
        group by order_key, sku
    ) as l
        on r.order_key = l.order_key and r.sku = l.sku
    where r.initiator = 'customer'
    group by r.order_key
) as rl
    on o.order_key = rl.order_key
left join {{ ref('dim_stores') }} as s
    on o.store_id = s.store_id
left join {{ ref('stg_marketplace__orders') }} as mp
    on o.order_key = mp.order_key
