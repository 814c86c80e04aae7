"""Write-back: what afterclick pushed to each channel, what failed and why, what waits for a
retry, the changes in doubt (and what to do about them), and when each channel last synced."""

from __future__ import annotations

import altair as alt
import streamlit as st

from afterclick.settings import load_settings
from dashboards import data
from dashboards.filters import global_filters
from dashboards.ui import mask_customers, metric, require_login, table
from writeback.adapters.email import default_messages, message_id, store_messages

require_login()
st.title("Write-back")
if not (data.table_exists("writeback_attempts") and data.table_exists("writeback_ledger")):
    st.info(
        "No write-back has run yet: `ops.writeback_attempts` is not in the snapshot. "
        "Run `afterclick writeback` (or the write-back flow) and publish."
    )
    st.stop()
filters = global_filters()
# pushes happen now, after the newest order: a period that runs to the newest data runs to now here
if filters.ends_at_latest:
    where, params = "cast(attempted_at as date) >= ?", [filters.start]
else:
    where, params = filters.where("cast(attempted_at as date)", channel=None)
channel_where, channel_params = filters.where(None)
where, params = f"{where} and {channel_where}", [*params, *channel_params]

totals = data.query(
    f"""
    select count(*) filter (where outcome = 'succeeded') as pushed, count(*) filter (where outcome = 'failed') as failed
    from ops.writeback_attempts where {where}""",
    params,
).iloc[0]
pending = data.query(
    f"select count(*) as n from ops.writeback_ledger where status in ('pending', 'retry') and {filters.where(None)[0]}",
    filters.where(None)[1],
)["n"][0]
in_doubt = data.query(
    f"select count(*) as n from ops.writeback_ledger where status = 'unknown' and {filters.where(None)[0]}",
    filters.where(None)[1],
)["n"][0]
cols = st.columns(4)
metric(cols[0], "Changes pushed", totals["pushed"], compare=False)
metric(cols[1], "Failed attempts", totals["failed"], compare=False, inverse=True)
metric(cols[2], "Waiting for a retry now", pending, compare=False, inverse=True)
metric(
    cols[3],
    "Changes in doubt",
    in_doubt,
    compare=False,
    inverse=True,
    help="Interrupted between sending and confirming, on a target that cannot be read back (email): "
    "not sent again, so never twice. See 'Changes in doubt' below for what to do.",
)

st.subheader("Pushes per channel and kind")
daily = data.query(
    f"""
    select cast(attempted_at as date) as day, channel, kind, outcome, count(*) as attempts
    from ops.writeback_attempts where {where} group by all order by 1""",
    params,
)
if not daily.empty:
    st.altair_chart(
        alt.Chart(daily)
        .mark_bar()
        .encode(
            x=alt.X("day:T", title="Day"),
            y=alt.Y("attempts:Q", title="Attempts"),
            color=alt.Color("outcome:N", title="Outcome"),
            column=alt.Column("kind:N", title="Kind"),
            tooltip=["day:T", "channel:N", "kind:N", "outcome:N", "attempts:Q"],
        )
    )
table(daily, "writeback_attempts_by_day")

st.subheader("Failures")
failures = data.query(
    f"""
    select attempted_at, channel, store_id, kind, change_key, http_status, error
    from ops.writeback_attempts where outcome = 'failed' and {where} order by attempted_at desc""",
    params,
)
failures["error"] = mask_customers(failures["error"])  # published with customers' addresses as pseudonyms
table(failures, "writeback_failures", empty="No failed push in the period.")

st.subheader("Waiting for a retry")
retries = data.query(
    f"""
    select channel, store_id, kind, change_key, attempts, next_attempt_at, last_error
    from ops.writeback_ledger where status in ('pending', 'retry') and {filters.where(None)[0]}
    order by next_attempt_at""",
    filters.where(None)[1],
)
retries["last_error"] = mask_customers(retries["last_error"])
table(retries, "writeback_pending", empty="Nothing waits.")

st.subheader("Changes in doubt")
st.caption(
    "A push was interrupted (a crash, a kill) after sending these and before the answer was recorded, "
    "on a target afterclick cannot read back. They may or may not have arrived; afterclick does not send "
    "them again (nobody gets a change twice) until their content changes."
)
WHAT_TO_DO = {
    "notification": "Look up the Message-ID in the mail server's log (or the email provider's activity): "
    "delivered, nothing to do; not delivered and still useful, contact the customer about the "
    "order. It is not sent again unless its content changes.",
}
IN_THE_STORE = (
    "Check the value in the store's admin (the SKU or order in change_key): shown, nothing to do; "
    "not shown, set it there. afterclick pushes it again only when the value it wants changes."
)
doubt_where, doubt_params = filters.where(None)
per_target = data.query(
    f"""
    select kind, channel, store_id, count(*) as changes, min(updated_at) as since, max(updated_at) as latest
    from ops.writeback_ledger where status = 'unknown' and {doubt_where}
    group by all order by changes desc, kind, store_id""",
    doubt_params,
)
per_target["what_to_do"] = [WHAT_TO_DO.get(kind, IN_THE_STORE) for kind in per_target["kind"]]
table(
    per_target,
    "writeback_in_doubt",
    empty="No change in doubt.",
    column_config={"what_to_do": st.column_config.TextColumn("what to do", width="large")},
)
if not per_target.empty:
    changes = data.query(
        f"""
        select kind, store_id, change_key, json_extract_string(payload, '$.order_number') as order_number,
               json_extract_string(payload, '$.store_id') as sent_for, updated_at as in_doubt_since
        from ops.writeback_ledger where status = 'unknown' and {doubt_where}
        order by kind, store_id, updated_at, change_key""",
        doubt_params,
    )
    settings = load_settings()  # a message's Message-ID is on its store's sender's domain (the email adapter's)
    senders, smtp_sender = store_messages(settings), default_messages(settings.smtp)
    changes.insert(
        4,
        "message_id",
        [
            message_id(key, senders.get(store, smtp_sender).domain) if kind == "notification" else None
            for kind, key, store in zip(changes["kind"], changes["change_key"], changes["sent_for"])
        ],
    )
    table(changes.drop(columns="sent_for"), "writeback_in_doubt_changes")

st.subheader("Last successful sync per channel store")
last = data.query(
    f"""
    select channel, store_id, kind, max(attempted_at) as last_success
    from ops.writeback_attempts where outcome = 'succeeded' and {filters.where(None)[0]}
    group by all order by channel, store_id, kind""",
    filters.where(None)[1],
)
table(last, "writeback_last_sync")
