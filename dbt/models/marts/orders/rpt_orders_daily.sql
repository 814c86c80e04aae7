-- Orders and revenue by channel, store and day: the store's local day, in its time zone (the
-- overview page's first chart).
select
    placed_date,
    channel,
    store_id,
    count(*) as orders,
    sum(case when canceled_at is null then 1 else 0 end) as orders_not_canceled,
    {{ sum_money('total_amount_rc') }} as revenue_rc,
    {{ sum_money('net_sales_rc') }} as net_sales_rc
from {{ ref('fct_orders') }}
group by placed_date, channel, store_id
