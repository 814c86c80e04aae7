{%- set prorated = 'case when o.total_amount > 0 then round(r.amount * (o.gross_amount - o.discount_amount) / o.total_amount, 2) else r.amount end' -%}
-- One row per refund the channels record (a return's, or a paid order's cancellation), with how
-- long after the order it came; money in order currency and in the reporting currency (_rc).
--
-- goods_amount: what the refund gives back for goods, net of tax and shipping (the basis of net
-- revenue and LTV). Where the source says what a refund covers (its refunded lines or items) it is
-- that; a refund of the whole order (a cancellation after payment, a parcel returned to sender)
-- gives back the order's goods, tax and shipping in the order's proportions, so its goods share
-- is amount * (gross - discount) / total of the order.
select
    r.refund_key,
    r.order_key,
    r.store_id,
    r.channel,
    r.refunded_at,
    {{ money('r.amount') }} as amount,
    r.currency,
    {{ money('r.amount_rc') }} as amount_rc,
    {{ money('coalesce(r.goods_amount, ' ~ prorated ~ ')') }} as goods_amount,
    {{ money('case when r.amount = 0 then 0 else round(r.amount_rc * coalesce(r.goods_amount, ' ~ prorated ~ ') / r.amount, 2) end') }}
        as goods_amount_rc,
    r.reason,
    o.placed_at,
    {{ dbt.datediff('o.placed_at', 'r.refunded_at', 'day') }} as days_after_order
from {{ ref('int_channel_refunds') }} as r
inner join {{ ref('int_orders_unioned') }} as o on r.order_key = o.order_key
