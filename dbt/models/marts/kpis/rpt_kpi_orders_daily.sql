-- The additive parts of the order KPIs per day placed (the store's local day), channel and store: counts and EUR
-- sums only, never a rate per row. A KPI over any period and selection is a sum of these columns or
-- a ratio of two sums (dashboards/kpis.py; docs/concepts/kpis.md).
-- Revenue is net sales: items - discounts, without tax and shipping, before refunds, of the orders
-- not canceled (canceled, or refunded before anything shipped: as the customer figures count
-- them), in EUR at the rate of the order's placed day.
with returned as (
    select distinct order_key from {{ ref('fct_returns') }}
),

orders as (
    select
        o.placed_date,
        o.channel,
        o.store_id,
        coalesce(co.is_canceled, o.canceled_at is not null) as is_canceled,
        o.net_sales_rc,
        c.delivered_at is not null and not coalesce(co.is_canceled, o.canceled_at is not null) as is_delivered,
        c.delivered_at is not null and not coalesce(co.is_canceled, o.canceled_at is not null)
            and r.order_key is not null as is_returned
    from {{ ref('fct_orders') }} as o
    left join {{ ref('int_customer_orders') }} as co on o.order_key = co.order_key  -- the customer figures' notion of canceled
    left join {{ ref('fct_order_cycle') }} as c on o.order_key = c.order_key
    left join returned as r on o.order_key = r.order_key
)

select
    placed_date,
    channel,
    store_id,
    count(*) as orders,
    sum(case when is_canceled then 1 else 0 end) as orders_canceled,
    sum(case when is_canceled then 0 else 1 end) as orders_counted,
    {{ sum_money('case when is_canceled then 0 else net_sales_rc end') }} as revenue_rc,
    sum(case when is_delivered then 1 else 0 end) as orders_delivered,
    sum(case when is_returned then 1 else 0 end) as orders_returned
from orders
group by placed_date, channel, store_id
