-- afterclick's status of each order of a channel pushed to with news in the last var
-- writeback_lookback_days, from the canonical order-cycle stage. What that status is called on the
-- channel (and whether the channel shows it at all) is the channel's write-back status adapter's
-- business (writeback/adapters/<channel>/), not the warehouse's. Refunded means refunded in
-- full; an order partly refunded keeps its delivered / shipped / invoiced status.
with cycle as (
    select
        c.order_key, c.channel, c.store_id, o.channel_order_id, c.delivered_at,
        case
            when c.canceled_at is not null and c.shipped_at is null then 'canceled'
            -- refunded: the whole order paid back; a partial refund (a returned line) leaves the
            -- order where its fulfilment is, as every channel does
            when c.refunded_at is not null and o.refunded_amount >= o.total_amount then 'refunded'
            when c.delivered_at is not null or (c.closed_at is not null and c.refunded_at is null) then 'delivered'
            when c.shipped_at is not null then 'shipped'
            when c.invoiced_at is not null then 'invoiced'
        end as afterclick_status
    from {{ ref('fct_order_cycle') }} as c
    inner join {{ ref('fct_orders') }} as o on c.order_key = o.order_key
    where {{ channel_in('c.channel', 'writeback_channels') }}
      and c.last_event_at > {{ dbt.dateadd('day', -1 * var('writeback_lookback_days'), as_of()) }}
      and c.last_event_at <= {{ as_of() }}
)

select
    {{ dbt.concat(["store_id", "':'", "channel_order_id"]) }} as writeback_key,
    order_key,
    channel,
    store_id,
    channel_order_id,
    afterclick_status,
    delivered_at
from cycle
where afterclick_status is not null
