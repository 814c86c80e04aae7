-- The additive parts of the customer KPIs per day of the first counted order (the acquisition
-- store's local day) and acquisition channel: counts and EUR sums only (dashboards/kpis.py divides
-- sums; docs/concepts/kpis.md).
with customers as (
    select c.*, {{ local_date('c.first_order_at', 'st.timezone') }} as first_order_date
    from {{ ref('dim_customers') }} as c
    left join {{ ref('dim_stores') }} as st on c.acquisition_store_id = st.store_id
)

select
    first_order_date,
    acquisition_channel,
    count(*) as new_customers,
    sum(case when is_repeat then 1 else 0 end) as repeat_customers,
    sum(orders) as orders,
    {{ sum_money('net_sales_rc') }} as net_sales_rc,
    {{ sum_money('historic_ltv_net_rc') }} as historic_ltv_net_rc,
    count(predicted_clv_12m) as customers_predicted,
    -- each customer's prediction (a double, a statistic) rounded to the cent, summed exactly as money
    {{ sum_money('round(predicted_clv_12m, 2)') }} as predicted_clv_12m_rc
from customers
group by first_order_date, acquisition_channel
