"""Delivery: on-time, OTIF, first-attempt success and exceptions by carrier, warehouse, region or
week; how long click-to-door and order-to-ship take; returns by reason and initiator."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboards import data
from dashboards.filters import global_filters
from dashboards.ui import histograms, metric, require, require_login, table

require_login()
st.title("Delivery")
require("fct_shipments", "fct_returns", what="The delivery marts are")
filters = global_filters()

# parcels shipped in the period (the delivery clock starts when the parcel leaves)
PARCEL_KPIS = """
    count(*) as parcels,
    count(delivered_at) as delivered,
    avg(case when delivered_at is not null then case when is_on_time then 1.0 else 0.0 end end) as on_time_rate,
    avg(case when attempts > 0 then case when first_attempt_success then 1.0 else 0.0 end end) as first_attempt_rate,
    avg(case when exception_count > 0 then 1.0 else 0.0 end) as exception_rate"""


def kpis(f):
    where, params = f.where("cast(shipped_at as date)", warehouse="warehouse_id", carrier="carrier")
    parcels = data.query(f"select {PARCEL_KPIS} from fct_shipments where shipped_at is not null and {where}", params)
    # OTIF per order: every parcel delivered, and on time
    otif = data.query(
        f"""
        select avg(case when bool_and(is_on_time) and count(delivered_at) = count(*) then 1.0 else 0.0 end)
               over () as otif_rate
        from fct_shipments where shipped_at is not null and {where} group by order_key limit 1""",
        params,
    )
    row = parcels.iloc[0].to_dict()
    row["otif_rate"] = otif["otif_rate"][0] if not otif.empty else None
    return row


now, before = kpis(filters), kpis(filters.previous())
cols = st.columns(5)
metric(cols[0], "Parcels shipped", now["parcels"], before["parcels"], compare=filters.compare)
for col, (label, key) in zip(
    cols[1:],
    [
        ("On-time rate", "on_time_rate"),
        ("OTIF", "otif_rate"),
        ("First-attempt success", "first_attempt_rate"),
        ("Exception rate", "exception_rate"),
    ],
):
    metric(col, label, now[key], before[key], fmt="{:.1%}", compare=filters.compare, inverse=key == "exception_rate")

st.subheader("Performance by")
dimensions = {
    "Carrier": "carrier",
    "Warehouse": "warehouse_id",
    "Region": "region",
    "Week shipped": "cast(date_trunc('week', shipped_at) as date)",
}
by = st.radio("Group by", list(dimensions), horizontal=True, key="delivery_by", label_visibility="collapsed")
where, params = filters.where("cast(shipped_at as date)", warehouse="warehouse_id", carrier="carrier")
grouped = data.query(
    f"""
    select {dimensions[by]} as "{by}", {PARCEL_KPIS}
    from fct_shipments where shipped_at is not null and {where} group by 1 order by 1""",
    params,
)
if grouped.empty:
    st.info("No parcel shipped in the chosen period and filters.")
    st.stop()
rates = grouped.melt(
    id_vars=[by],
    value_vars=["on_time_rate", "first_attempt_rate", "exception_rate"],
    var_name="measure",
    value_name="rate",
)
st.altair_chart(
    alt.Chart(rates)
    .mark_bar()
    .encode(
        x=alt.X(f"{by}:{'T' if by.startswith('Week') else 'N'}", title=by),
        xOffset="measure:N",
        y=alt.Y("rate:Q", title="Share of parcels", axis=alt.Axis(format="%")),
        color=alt.Color("measure:N", title="Measure"),
        tooltip=[f"{by}", "measure:N", alt.Tooltip("rate:Q", format=".1%")],
    ),
    width="stretch",
)
table(grouped, f"delivery_by_{dimensions[by] if by != 'Week shipped' else 'week'}")

st.subheader("How long it takes")
hours = data.query(
    f"""
    select hours_click_to_door, hours_order_to_ship from fct_shipments
    where shipped_at is not null and {where}""",
    params,
)
histograms(
    hours, {"hours_click_to_door": "Click to door (hours)", "hours_order_to_ship": "Order to ship (hours)"}, "Parcels"
)

st.subheader("Returns by reason and initiator")
where_r, params_r = filters.where("cast(received_at as date)")
returns = data.query(
    f"""
    select coalesce(reason_text, reason_code, 'unknown') as reason, initiator, count(*) as returns,
           sum(quantity) as units, round(sum(refund_amount), 2) as refunded
    from fct_returns where {where_r} group by all order by returns desc""",
    params_r,
)
if not returns.empty:
    st.altair_chart(
        alt.Chart(returns)
        .mark_bar()
        .encode(
            y=alt.Y("reason:N", sort="-x", title="Reason"),
            x=alt.X("returns:Q", title="Returns received"),
            color=alt.Color("initiator:N", title="Initiator"),
            tooltip=["reason:N", "initiator:N", "returns:Q", "units:Q"],
        ),
        width="stretch",
    )
table(returns, "returns_by_reason", empty="No return received in the chosen period.")
