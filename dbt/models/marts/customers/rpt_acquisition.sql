-- Per acquisition channel (the channel of each customer's first order) and month: new
-- customers, marketing spend (reporting currency), CAC, what the cohort's customers were worth
-- in their first 90 days and 12 months, and LTV:CAC.
--
-- ltv_12m_rc is observed net revenue so far; while the cohort is younger than 12 months it is
-- incomplete, so ltv_12m_projected_rc adds each customer's predicted value for the rest of the
-- year (predicted_clv_12m prorated) and ltv_to_cac uses the projected figure.
with customers as (
    select customer_key, acquisition_channel, cohort_month, first_order_at, predicted_clv_12m
    from {{ ref('dim_customers') }}
),

customer_value as (
    select
        c.customer_key,
        c.acquisition_channel,
        c.cohort_month,
        {{ sum_money("case when o.placed_at < " ~ dbt.dateadd('day', 90, 'c.first_order_at') ~ " then o.net_revenue_rc else 0 end") }}
            as value_90d,
        {{ sum_money("case when o.placed_at < " ~ dbt.dateadd('day', 365, 'c.first_order_at') ~ " then o.net_revenue_rc else 0 end") }}
            as value_12m,
        round(coalesce(c.predicted_clv_12m, 0)
              * greatest(0, 365 - {{ dbt.datediff('c.first_order_at', as_of(), 'day') }}) / 365.0, 2)
            as rest_of_year_predicted
    from customers as c
    inner join {{ ref('int_customer_orders') }} as o
        on c.customer_key = o.customer_key and not o.is_canceled
    group by c.customer_key, c.acquisition_channel, c.cohort_month, c.first_order_at, c.predicted_clv_12m
),

cohorts as (
    select
        acquisition_channel as channel,
        cohort_month as month,
        count(*) as new_customers,
        {{ sum_money('value_90d') }} / count(*) as ltv_90d_rc,
        {{ sum_money('value_12m') }} / count(*) as ltv_12m_rc,
        {{ sum_money('value_12m + rest_of_year_predicted') }} / count(*) as ltv_12m_projected_rc
    from customer_value
    group by acquisition_channel, cohort_month
),

spend as (
    select
        st.channel,
        cast({{ dbt.date_trunc('month', 'sp.spend_date') }} as date) as month,
        {{ sum_money(money_at_rate('sp.spend', 'r.rate_to_eur')) }} as spend_rc
    from {{ ref('stg_marketing__spend') }} as sp
    inner join {{ ref('dim_stores') }} as st
        on sp.store_id = st.store_id
    left join {{ ref('int_currency_rates') }} as r
        on {{ currency_rate_on('r', 'sp.currency', 'sp.spend_date') }}
    group by st.channel, cast({{ dbt.date_trunc('month', 'sp.spend_date') }} as date)
),

joined as (
    select
        coalesce(c.channel, s.channel) as channel,
        coalesce(c.month, s.month) as month,
        coalesce(c.new_customers, 0) as new_customers,
        round(coalesce(s.spend_rc, 0), 2) as spend_rc,
        c.ltv_90d_rc,
        c.ltv_12m_rc,
        c.ltv_12m_projected_rc
    from cohorts as c
    full outer join spend as s
        on c.channel = s.channel and c.month = s.month
)

select
    {{ dbt.concat(["channel", "':'", dbt.cast("month", api.Column.translate_type("string"))]) }} as acquisition_key,
    channel,
    month,
    new_customers,
    spend_rc,
    case when new_customers > 0 then {{ money('round(spend_rc / new_customers, 2)') }} end as cac_rc,
    {{ money('round(ltv_90d_rc, 2)') }} as ltv_90d_rc,
    {{ money('round(ltv_12m_rc, 2)') }} as ltv_12m_rc,
    {{ dbt.dateadd('month', 13, 'month') }} <= {{ as_of() }} as is_ltv_12m_complete,
    {{ money('round(ltv_12m_projected_rc, 2)') }} as ltv_12m_projected_rc,
    case when new_customers > 0 and spend_rc > 0
         then round(cast(ltv_12m_projected_rc as double) / (spend_rc / new_customers), 2) end as ltv_to_cac  -- a ratio, not money
from joined
