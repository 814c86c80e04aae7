-- Monthly cohorts (the month of each customer's first order) and what they did in every month
-- since, up to the as-of month (is_partial_month: still running): how many were active (ordered), the retention rate (1.0 in
-- month 0 by construction), orders, net revenue and cumulative net revenue per customer.
with customers as (
    select customer_key, cohort_month from {{ ref('dim_customers') }}
),

cohorts as (
    select cohort_month, count(*) as cohort_size from customers group by cohort_month
),

months as (
    select distinct month_start from {{ ref('dim_dates') }}
),

grid as (
    select
        c.cohort_month,
        c.cohort_size,
        m.month_start as activity_month,
        {{ dbt.datediff('c.cohort_month', 'm.month_start', 'month') }} as months_since_first
    from cohorts as c
    inner join months as m
        on m.month_start >= c.cohort_month
),

activity as (
    select
        cu.cohort_month,
        cast({{ dbt.date_trunc('month', 'o.placed_at') }} as date) as activity_month,
        count(distinct o.customer_key) as active_customers,
        count(*) as orders,
        {{ sum_money('o.net_revenue_rc') }} as revenue_rc
    from {{ ref('int_customer_orders') }} as o
    inner join customers as cu
        on o.customer_key = cu.customer_key
    where not o.is_canceled
    group by cu.cohort_month, cast({{ dbt.date_trunc('month', 'o.placed_at') }} as date)
)

select
    {{ dbt.concat([dbt.cast("g.cohort_month", api.Column.translate_type("string")), "':'",
                   dbt.cast("g.months_since_first", api.Column.translate_type("string"))]) }} as cohort_retention_key,
    g.cohort_month,
    g.months_since_first,
    g.activity_month,
    g.activity_month = cast({{ dbt.date_trunc('month', as_of()) }} as date) as is_partial_month,
    g.cohort_size,
    coalesce(a.active_customers, 0) as active_customers,
    round(1.0 * coalesce(a.active_customers, 0) / g.cohort_size, 4) as retention_rate,
    coalesce(a.orders, 0) as orders,
    round(coalesce(a.revenue_rc, 0), 2) as revenue_rc,
    {{ money('round(sum(coalesce(a.revenue_rc, 0)) over (partition by g.cohort_month order by g.months_since_first
                                               rows between unbounded preceding and current row)
          / g.cohort_size, 2)') }} as cumulative_revenue_per_customer_rc
from grid as g
left join activity as a
    on g.cohort_month = a.cohort_month and g.activity_month = a.activity_month
