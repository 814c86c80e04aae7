-- One row per return received: why (free text and code), who sent it back, what became of it,
-- how long after delivery, and what was refunded for the order.
with refunds as (
    select order_key, {{ sum_money('abs(total_amount)') }} as refund_amount, min(issued_at) as refunded_at
    from {{ ref('stg_erp__invoices') }}
    where kind = 'credit_note'
    group by order_key
)

select
    r.return_key,
    r.order_key,
    o.channel,
    o.store_id,
    r.sku,
    r.quantity,
    r.reason_code,
    r.reason_text,
    r.initiator,
    r.condition,
    r.disposition,
    r.received_at,
    c.delivered_at,
    {{ dbt.datediff('c.delivered_at', 'r.received_at', 'day') }} as days_to_return,
    f.refund_amount,
    f.refunded_at
from {{ ref('stg_wms__returns_received') }} as r
inner join {{ ref('fct_orders') }} as o on r.order_key = o.order_key
left join {{ ref('fct_order_cycle') }} as c on r.order_key = c.order_key
left join refunds as f on r.order_key = f.order_key
