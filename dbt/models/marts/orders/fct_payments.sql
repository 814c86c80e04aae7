-- One row per payment transaction the channels record (Shopify also lists its refund transactions),
-- with the order's placing time; money in order currency and in the reporting currency (_rc).
select
    p.payment_key,
    p.order_key,
    p.store_id,
    p.channel,
    p.kind,
    p.status,
    p.payment_method,
    {{ money('p.amount') }} as amount,
    p.currency,
    {{ money('p.amount_rc') }} as amount_rc,
    p.processed_at,
    o.placed_at
from {{ ref('int_channel_payments') }} as p
inner join {{ ref('int_orders_unioned') }} as o on p.order_key = o.order_key
