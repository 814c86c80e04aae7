"""Customers: new vs returning, repeat rate, AOV, what customers are worth (historic and predicted),
cohort retention, RFM segments and LTV:CAC by channel."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboards import data
from dashboards.filters import global_filters
from dashboards.ui import histograms, mask_emails, metric, require, require_login, table

require_login()
st.title("Customers")
require(
    "dim_customers", "rpt_cohort_retention", "rpt_acquisition", "rpt_customers_monthly", what="The customer marts are"
)
filters = global_filters()


def period_kpis(f):
    where, params = f.where("cast(first_order_at as date)", channel="acquisition_channel")
    return data.query(
        f"""
        select count(*) as customers, avg(case when is_repeat then 1.0 else 0.0 end) as repeat_rate,
               sum(net_sales_rc) / nullif(sum(orders), 0) as aov, avg(historic_ltv_net_rc) as ltv,
               avg(predicted_clv_12m) as predicted
        from dim_customers where {where}""",
        params,
    ).iloc[0]


now, before = period_kpis(filters), period_kpis(filters.previous())
st.caption("Customers acquired in the period (first order), by acquisition channel.")
cols = st.columns(5)
metric(cols[0], "New customers", now["customers"], before["customers"], compare=filters.compare)
metric(
    cols[1],
    "Repeat rate",
    now["repeat_rate"],
    before["repeat_rate"],
    fmt="{:.1%}",
    compare=filters.compare,
    help="Share of them who ordered again (so far).",
)
metric(cols[2], "AOV (EUR)", now["aov"], before["aov"], fmt="{:,.2f}", compare=filters.compare)
metric(
    cols[3],
    "Historic LTV (EUR)",
    now["ltv"],
    before["ltv"],
    fmt="{:,.2f}",
    compare=filters.compare,
    help="Net revenue per customer so far.",
)
metric(
    cols[4],
    "Predicted 12-month value (EUR)",
    now["predicted"],
    before["predicted"],
    fmt="{:,.2f}",
    compare=filters.compare,
    help="BG/NBD × Gamma-Gamma, per customer.",
)

st.subheader("New and returning customers by month")
channel_where, channel_params = filters.where(None, channel="channel")
monthly = data.query(
    f"""
    select month, sum(new_customers) as new, sum(returning_customers) as returning,
           sum(new_customer_revenue_rc) as new_revenue_eur, sum(returning_customer_revenue_rc) as returning_revenue_eur
    from rpt_customers_monthly
    where month between cast(date_trunc('month', cast(? as date)) as date) and ? and {channel_where}
    group by 1 order by 1""",
    [filters.start, filters.end, *channel_params],
)
if not monthly.empty:
    st.altair_chart(
        alt.Chart(
            monthly.melt(id_vars=["month"], value_vars=["new", "returning"], var_name="customers", value_name="count")
        )
        .mark_bar()
        .encode(
            x=alt.X("month:T", timeUnit="yearmonth", title="Month"),
            y=alt.Y("count:Q", title="Customers who ordered"),
            color=alt.Color("customers:N", title="Customers"),
        ),
        width="stretch",
    )
table(monthly, "new_vs_returning")

where, params = filters.where("cast(first_order_at as date)", channel="acquisition_channel")
st.subheader("What customers are worth")
values = data.query(f"select historic_ltv_net_rc, predicted_clv_12m from dim_customers where {where}", params)
histograms(
    values,
    {
        "historic_ltv_net_rc": "Historic LTV (EUR, net revenue)",
        "predicted_clv_12m": "Predicted next-12-month value (EUR)",
    },
    "Customers",
)

st.subheader("Cohort retention")
cohorts = data.query(
    """
    select cohort_month, months_since_first, cohort_size, active_customers, retention_rate,
           cumulative_revenue_per_customer_rc
    from rpt_cohort_retention where cohort_month >= cast(date_trunc('month', cast(? as date)) as date) - interval 11 month
      and cohort_month <= ? order by 1, 2""",
    [filters.end, filters.end],
)
if not cohorts.empty:
    st.altair_chart(
        alt.Chart(cohorts)
        .mark_rect()
        .encode(
            x=alt.X("months_since_first:O", title="Months since first order"),
            y=alt.Y("cohort_month:O", timeUnit="yearmonth", title="Cohort (month of first order)"),
            color=alt.Color(
                "retention_rate:Q", title="Retention", scale=alt.Scale(scheme="blues"), legend=alt.Legend(format="%")
            ),
            tooltip=[
                "cohort_month:T",
                "months_since_first:O",
                "cohort_size:Q",
                "active_customers:Q",
                alt.Tooltip("retention_rate:Q", format=".1%"),
            ],
        ),
        width="stretch",
    )
st.caption("The twelve cohorts up to the end of the period, all channels.")
table(cohorts, "cohort_retention")

st.subheader("RFM segments")
segments = data.query(
    f"""
    select rfm_segment, count(*) as customers, round(sum(historic_ltv_net_rc), 2) as historic_value_eur,
           round(avg(historic_ltv_net_rc), 2) as avg_historic_eur, round(avg(predicted_clv_12m), 2) as avg_predicted_eur,
           round(avg(p_alive), 3) as avg_p_alive
    from dim_customers where {where} group by 1 order by customers desc""",
    params,
)
if not segments.empty:
    st.altair_chart(
        alt.Chart(segments)
        .mark_bar()
        .encode(
            y=alt.Y("rfm_segment:N", sort="-x", title="Segment"),
            x=alt.X("customers:Q", title="Customers"),
            color=alt.Color("avg_historic_eur:Q", title="Avg historic value (EUR)"),
            tooltip=["rfm_segment:N", "customers:Q", "historic_value_eur:Q", "avg_predicted_eur:Q"],
        ),
        width="stretch",
    )
table(segments, "rfm_segments")

st.subheader("LTV:CAC by channel")
acquisition = data.query(
    f"""
    select channel, sum(new_customers) as new_customers, round(sum(spend_rc), 2) as spend_eur,
           round(sum(spend_rc) / nullif(sum(new_customers), 0), 2) as cac_eur,
           round(sum(ltv_12m_projected_rc * new_customers) / nullif(sum(new_customers), 0), 2) as ltv_12m_eur,
           round(sum(ltv_12m_projected_rc * new_customers) / nullif(sum(spend_rc), 0), 2) as ltv_to_cac
    from rpt_acquisition
    where month between cast(date_trunc('month', cast(? as date)) as date) and ? and {channel_where}
    group by 1 order by ltv_to_cac desc""",
    [filters.start, filters.end, *channel_params],
)
if not acquisition.empty:
    st.altair_chart(
        alt.Chart(acquisition)
        .mark_bar()
        .encode(
            x=alt.X("channel:N", title="Acquisition channel"),
            y=alt.Y("ltv_to_cac:Q", title="12-month LTV ÷ CAC"),
            tooltip=["channel:N", "new_customers:Q", "cac_eur:Q", "ltv_12m_eur:Q", "ltv_to_cac:Q"],
        ),
        width="stretch",
    )
table(acquisition, "ltv_to_cac")

st.subheader("Most valuable customers")
top = data.query(
    f"""
    select customer_email, acquisition_channel, orders, historic_ltv_net_rc, historic_ltv_margin_rc,
           predicted_clv_12m, p_alive, rfm_segment, last_order_at
    from dim_customers where {where} order by historic_ltv_net_rc desc limit 100""",
    params,
)
top["customer_email"] = mask_emails(top["customer_email"])
table(top, "top_customers")
