-- One row per refund the channels record (a return's, or a paid order's cancellation), with how
-- long after the order it came; money in order currency and in the reporting currency (_rc).
select
    r.refund_key,
    r.order_key,
    r.store_id,
    r.channel,
    r.refunded_at,
    {{ money('r.amount') }} as amount,
    r.currency,
    {{ money('r.amount_rc') }} as amount_rc,
    r.reason,
    o.placed_at,
    {{ dbt.datediff('o.placed_at', 'r.refunded_at', 'day') }} as days_after_order
from {{ ref('int_channel_refunds') }} as r
inner join {{ ref('int_orders_unioned') }} as o on r.order_key = o.order_key
