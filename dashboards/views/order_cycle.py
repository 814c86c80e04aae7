"""Order cycle: where the period's orders are now, how long each stage takes, which orders are stuck."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboards import data, kpis
from dashboards.filters import global_filters
from dashboards.ui import require, require_login, table

require_login()
st.title("Order cycle")
require("fct_order_cycle", "rpt_stuck_orders", "order_stages", what="The order-cycle marts are")
filters = global_filters()

st.subheader("Orders by current stage")
stages = data.query("select stage, stage_order, system_responsible from order_stages")
funnel = (
    kpis.by(["orders_placed", "orders_stuck"], filters, "Stage")
    .rename(columns={"Stage": "stage", "orders_placed": "orders", "orders_stuck": "stuck"})
    .merge(stages, on="stage")
    .sort_values("stage_order")[["stage", "stage_order", "system_responsible", "orders", "stuck"]]
)
if funnel.empty:
    st.info("No orders placed in the chosen period and channels.")
    st.stop()
st.altair_chart(
    alt.Chart(funnel)
    .mark_bar()
    .encode(
        y=alt.Y("stage:N", sort=funnel["stage"].tolist(), title="Current stage"),
        x=alt.X("orders:Q", title="Orders"),
        color=alt.Color("system_responsible:N", title="System responsible"),
        tooltip=["stage:N", "orders:Q", "stuck:Q", "system_responsible:N"],
    ),
    width="stretch",
)
table(funnel, "orders_by_stage")

st.subheader("Stage durations by week placed (hours)")
steps = {
    "placed → paid": "placed_to_paid",
    "paid → picked": "paid_to_picked",
    "picked → packed": "picked_to_packed",
    "packed → shipped": "packed_to_shipped",
    "shipped → delivered": "in_transit",
    "click → door": "click_to_door",
}
step = st.selectbox("Step", list(steps), index=1, key="step")
name = steps[step]  # a step of the KPI definitions chosen from the list above, never user text
durations = (
    kpis.by([f"hours_{name}_p50", f"hours_{name}_p90", f"orders_through_{name}"], filters, "Week placed")
    .rename(
        columns={
            "Week placed": "week",
            f"hours_{name}_p50": "median_hours",
            f"hours_{name}_p90": "p90_hours",
            f"orders_through_{name}": "orders",
        }
    )
    .query("orders > 0")
)
if durations.empty:
    st.caption("No order has been through this step in the chosen period.")
else:
    long = durations.melt(
        id_vars=["week", "orders"], value_vars=["median_hours", "p90_hours"], var_name="statistic", value_name="hours"
    )
    st.altair_chart(
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("week:T", title="Week placed"),
            y=alt.Y("hours:Q", title=f"{step} (hours)"),
            color=alt.Color("statistic:N", title="Statistic"),
            tooltip=["week:T", "statistic:N", alt.Tooltip("hours:Q", format=",.1f"), "orders:Q"],
        ),
        width="stretch",
    )
    table(durations, "stage_durations")

st.subheader("Stuck orders")
search = st.text_input("Search (order, channel, store, stage or system)", key="stuck_search")
where_s, params_s = filters.where(None)
clause, extra = "", []
if search:
    clause = (
        " and (order_key ilike ? or channel ilike ? or store_id ilike ? or stage ilike ? or system_responsible ilike ?)"
    )
    extra = [f"%{search}%"] * 5
stuck = data.query(
    f"""
    select order_key, channel, store_id, stage, system_responsible, hours_stuck,
           sla_hours, in_stage_since, placed_at
    from rpt_stuck_orders where {where_s}{clause} order by hours_stuck desc""",
    [*params_s, *extra],
)
st.caption(f"{len(stuck):,} orders stuck now (in their stage longer than its SLA), whenever placed.")
table(stuck, "stuck_orders", empty="No stuck order matches.")
