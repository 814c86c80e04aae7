-- Orders and revenue by channel, store and day (the overview page's first chart).
select
    placed_date,
    channel,
    store_id,
    count(*) as orders,
    sum(case when canceled_at is null then 1 else 0 end) as orders_not_canceled,
    round({{ sum_money('total_amount_rc') }}, 2) as revenue_rc,
    round({{ sum_money('net_sales_rc') }}, 2) as net_sales_rc
from {{ ref('fct_orders') }}
group by placed_date, channel, store_id
