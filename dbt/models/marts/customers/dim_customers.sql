-- One row per person who has bought (at least one order not canceled), across channels and
-- stores (identity: int_customer_orders): when they came and through which channel, how much
-- they are worth so far (net revenue and gross margin in the reporting currency), their RFM
-- scores and segment, and what the purchase model expects of them in the next 12 months.
with kept as (
    select * from {{ ref('int_customer_orders') }} where not is_canceled
),

first_orders as (
    select customer_key, channel as acquisition_channel, store_id as acquisition_store_id
    from (
        select customer_key, channel, store_id,
               row_number() over (partition by customer_key order by placed_at, order_key) as nth
        from kept
    ) as ranked
    where nth = 1
),

totals as (
    select
        customer_key,
        max(customer_email) as customer_email,
        max(identified_by) as identified_by,
        min(placed_at) as first_order_at,
        max(placed_at) as last_order_at,
        count(*) as orders,
        count(distinct channel) as channels,
        count(distinct store_id) as stores,
        {{ sum_money('net_sales_rc') }} as net_sales_rc,
        {{ sum_money('refunded_rc') }} as refunds_rc,
        {{ sum_money('net_revenue_rc') }} as historic_ltv_net_rc,
        {{ sum_money('net_revenue_rc - cogs_rc') }} as historic_ltv_margin_rc,
        min(case when is_fully_costed then 1 else 0 end) = 1 as is_margin_complete
    from kept
    group by customer_key
),

scored as (
    select
        t.*,
        {{ dbt.datediff('t.last_order_at', as_of(), 'day') }} as recency_days,
        least(5, 1 + floor(5 * percent_rank() over (order by t.last_order_at))) as rfm_recency,
        -- most customers buy once, so quintiles of the order count are degenerate: frequency
        -- scores come from order-count thresholds instead (var rfm_frequency_thresholds)
        case {% for n in var('rfm_frequency_thresholds') | reverse %}
             when t.orders >= {{ n }} then {{ 5 - loop.index0 }}{% endfor %}
             else 1 end as rfm_frequency,
        least(5, 1 + floor(5 * percent_rank() over (order by t.historic_ltv_net_rc))) as rfm_monetary
    from totals as t
)

select
    s.customer_key,
    s.customer_email,
    s.identified_by,
    f.acquisition_channel,
    f.acquisition_store_id,
    s.first_order_at,
    s.last_order_at,
    cast({{ dbt.date_trunc('month', 's.first_order_at') }} as date) as cohort_month,
    s.orders,
    s.orders > 1 as is_repeat,
    s.channels,
    s.stores,
    {{ money('round(s.net_sales_rc / s.orders, 2)') }} as aov_rc,
    round(s.net_sales_rc, 2) as net_sales_rc,
    round(s.refunds_rc, 2) as refunds_rc,
    round(s.historic_ltv_net_rc, 2) as historic_ltv_net_rc,
    round(s.historic_ltv_margin_rc, 2) as historic_ltv_margin_rc,
    s.is_margin_complete,
    s.recency_days,
    cast(s.rfm_recency as integer) as rfm_recency,
    cast(s.rfm_frequency as integer) as rfm_frequency,
    cast(s.rfm_monetary as integer) as rfm_monetary,
    seg.segment as rfm_segment,
    p.p_alive,
    p.expected_orders_12m,
    p.predicted_clv_12m
from scored as s
inner join first_orders as f
    on s.customer_key = f.customer_key
left join {{ ref('rfm_segments') }} as seg
    on s.rfm_recency between seg.recency_min and seg.recency_max
    and s.rfm_frequency between seg.frequency_min and seg.frequency_max
left join {{ ref('int_customer_predictions') }} as p
    on s.customer_key = p.customer_key
