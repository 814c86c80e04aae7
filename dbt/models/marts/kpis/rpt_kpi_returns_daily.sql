-- The additive parts of the return KPIs per day received (the store's local day), channel, store, reason and
-- initiator: counts and EUR sums only, never a native amount summed across currencies.
with returns as (
    select
        {{ local_date('r.received_at', 'st.timezone') }} as received_date,
        r.channel,
        r.store_id,
        coalesce(r.reason_text, r.reason_code, 'unknown') as reason,
        r.initiator,
        r.quantity,
        r.refund_amount_rc
    from {{ ref('fct_returns') }} as r
    inner join {{ ref('dim_stores') }} as st on r.store_id = st.store_id
)

select
    received_date,
    channel,
    store_id,
    reason,
    initiator,
    count(*) as returns_received,
    sum(quantity) as units_returned,
    {{ sum_money('coalesce(refund_amount_rc, 0)') }} as refunded_rc
from returns
group by received_date, channel, store_id, reason, initiator
