-- One row per return received: why (free text and code), who sent it back, what became of it,
-- how long after delivery, and its share of what was refunded for the order.
--
-- The ERP's credit notes name the order, not the returned lines: an order's credit notes are
-- shared out over its returns by quantity (a return of 2 units takes twice the share of a return
-- of 1), in cents that add up exactly to the order's credit notes, so a sum over returns counts
-- each refund once.
with refunds as (
    select order_key, {{ sum_money('abs(total_amount)') }} as refund_amount, min(issued_at) as refunded_at
    from {{ ref('stg_erp__invoices') }}
    where kind = 'credit_note'
    group by order_key
),

returns as (
    select
        r.*,
        case when r.quantity > 0 then r.quantity else 1 end as share_weight
    from {{ ref('stg_wms__returns_received') }} as r
),

shares as (
    -- the running weight of the order's returns up to this one, and the order's whole weight:
    -- each return gets round(total * running / whole) minus the previous return's rounding
    select
        return_key,
        sum(share_weight) over (partition by order_key order by received_at, return_key
                                rows between unbounded preceding and current row) as weight_to_here,
        sum(share_weight) over (partition by order_key) as order_weight
    from returns
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
    {{ money('round(f.refund_amount * sh.weight_to_here / sh.order_weight, 2)
              - round(f.refund_amount * (sh.weight_to_here - r.share_weight) / sh.order_weight, 2)') }} as refund_amount,
    o.currency,
    {{ money_at_rate('round(f.refund_amount * sh.weight_to_here / sh.order_weight, 2)
                      - round(f.refund_amount * (sh.weight_to_here - r.share_weight) / sh.order_weight, 2)',
                     'rates.rate_to_eur') }} as refund_amount_rc,
    f.refunded_at
from returns as r
inner join shares as sh on r.return_key = sh.return_key
inner join {{ ref('fct_orders') }} as o on r.order_key = o.order_key
left join {{ ref('fct_order_cycle') }} as c on r.order_key = c.order_key
left join refunds as f on r.order_key = f.order_key
left join {{ ref('int_currency_rates') }} as rates  -- the refund converts at the rate of its own day
    on {{ currency_rate_on('rates', 'o.currency', 'f.refunded_at') }}
