-- Per month and channel: customers and orders split into new (the customer's first order) and
-- returning, with net revenue (reporting currency). Orders canceled (or refunded before anything
-- shipped) do not count.
with orders as (
    select
        o.customer_key,
        o.channel,
        cast({{ dbt.date_trunc('month', 'o.placed_at') }} as date) as month,
        o.net_revenue_rc,
        o.placed_at = c.first_order_at as is_first_order
    from {{ ref('int_customer_orders') }} as o
    inner join {{ ref('dim_customers') }} as c
        on o.customer_key = c.customer_key
    where not o.is_canceled
)

select
    {{ dbt.concat(["channel", "':'", dbt.cast("month", api.Column.translate_type("string"))]) }} as customers_monthly_key,
    month,
    channel,
    count(distinct case when is_first_order then customer_key end) as new_customers,
    count(distinct case when not is_first_order then customer_key end) as returning_customers,
    sum(case when is_first_order then 1 else 0 end) as new_customer_orders,
    sum(case when is_first_order then 0 else 1 end) as returning_customer_orders,
    round({{ sum_money('case when is_first_order then net_revenue_rc else 0 end') }}, 2) as new_customer_revenue_rc,
    round({{ sum_money('case when is_first_order then 0 else net_revenue_rc end') }}, 2) as returning_customer_revenue_rc
from orders
group by month, channel
