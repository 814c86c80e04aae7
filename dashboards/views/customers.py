"""Customers: new vs returning, repeat rate, AOV, what customers are worth (historic and predicted),
cohort retention, RFM segments and LTV:CAC by channel."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboards import data, kpis
from dashboards.filters import global_filters
from dashboards.ui import histograms, mask_customers, metric, require, require_login, table

require_login()
st.title("Customers")
require(
    "dim_customers", "rpt_cohort_retention", "rpt_acquisition", "rpt_customers_monthly", what="The customer marts are"
)
filters = global_filters()


PERIOD_KPIS = ["new_customers", "repeat_rate", "aov", "historic_ltv_net_avg", "predicted_clv_12m_avg"]
now, before = kpis.values(PERIOD_KPIS, filters), kpis.values(PERIOD_KPIS, filters.previous())
st.caption("Customers acquired in the period (first order), by acquisition channel.")
cols = st.columns(5)
metric(cols[0], "New customers", now["new_customers"], before["new_customers"], compare=filters.compare)
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
    now["historic_ltv_net_avg"],
    before["historic_ltv_net_avg"],
    fmt="{:,.2f}",
    compare=filters.compare,
    help="Net revenue per customer so far.",
)
metric(
    cols[4],
    "Predicted 12-month value (EUR)",
    now["predicted_clv_12m_avg"],
    before["predicted_clv_12m_avg"],
    fmt="{:,.2f}",
    compare=filters.compare,
    help="BG/NBD × Gamma-Gamma, per customer.",
)

st.subheader("New and returning customers by month")
monthly = kpis.by(
    [
        "customers_new_in_month",
        "customers_returning_in_month",
        "revenue_new_customers",
        "revenue_returning_customers",
    ],
    filters,
    "month",
).rename(
    columns={
        "customers_new_in_month": "new",
        "customers_returning_in_month": "returning",
        "revenue_new_customers": "new_revenue_eur",
        "revenue_returning_customers": "returning_revenue_eur",
    }
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
segments = (
    kpis.by(
        [
            "segment_customers",
            "segment_historic_ltv_net",
            "segment_historic_ltv_net_avg",
            "segment_predicted_clv_12m_avg",
            "segment_p_alive_avg",
        ],
        filters,
        "rfm_segment",
    )
    .rename(
        columns={
            "segment_customers": "customers",
            "segment_historic_ltv_net": "historic_value_eur",
            "segment_historic_ltv_net_avg": "avg_historic_eur",
            "segment_predicted_clv_12m_avg": "avg_predicted_eur",
            "segment_p_alive_avg": "avg_p_alive",
        }
    )
    .sort_values("customers", ascending=False)
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
acquisition = (
    kpis.by(["acquired_customers", "marketing_spend", "cac", "ltv_12m_projected", "ltv_to_cac"], filters, "channel")
    .rename(
        columns={
            "acquired_customers": "new_customers",
            "marketing_spend": "spend_eur",
            "cac": "cac_eur",
            "ltv_12m_projected": "ltv_12m_eur",
        }
    )
    .sort_values("ltv_to_cac", ascending=False)
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
top["customer_email"] = mask_customers(top["customer_email"])
table(top, "top_customers")
