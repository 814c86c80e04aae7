-- The status each API channel should show per order with news in the last var
-- writeback_lookback_days, from the canonical order-cycle stage, in the channel's own vocabulary:
-- Shopify (the target state: CLOSED and CANCELLED are actions, FULFILLED follows the tracking push),
-- VTEX (canceled, or delivered on its invoices; invoiced follows the tracking push; refunds are the
-- channel's own), Magento (processing / complete / closed / canceled), WooCommerce (processing /
-- completed / refunded / cancelled).
with cycle as (
    select
        c.order_key, c.channel, c.store_id, o.channel_order_id, c.delivered_at,
        case
            when c.canceled_at is not null and c.shipped_at is null then 'canceled'
            when c.refunded_at is not null then 'refunded'
            when c.closed_at is not null or c.delivered_at is not null then 'delivered'
            when c.shipped_at is not null then 'shipped'
            when c.invoiced_at is not null then 'invoiced'
        end as afterclick_status
    from {{ ref('fct_order_cycle') }} as c
    inner join {{ ref('fct_orders') }} as o on c.order_key = o.order_key
    where c.channel in ('shopify', 'vtex', 'magento', 'woocommerce')
      and c.last_event_at > {{ dbt.dateadd('day', -1 * var('writeback_lookback_days'), as_of()) }}
      and c.last_event_at <= {{ as_of() }}
),

mapped as (
    select
        *,
        case channel
            when 'shopify' then case afterclick_status when 'canceled' then 'CANCELLED' when 'refunded' then 'CLOSED'
                                                       when 'delivered' then 'CLOSED' when 'shipped' then 'FULFILLED'
                                                       else 'UNFULFILLED' end
            when 'vtex' then case afterclick_status when 'canceled' then 'canceled' when 'delivered' then 'delivered'
                                                    end
            when 'magento' then case afterclick_status when 'canceled' then 'canceled' when 'refunded' then 'closed'
                                                       when 'invoiced' then 'processing' else 'complete' end
            when 'woocommerce' then case afterclick_status when 'canceled' then 'cancelled'
                                                           when 'refunded' then 'refunded'
                                                           when 'invoiced' then 'processing' else 'completed' end
        end as channel_status
    from cycle
    where afterclick_status is not null
)

select
    {{ dbt.concat(["store_id", "':'", "channel_order_id"]) }} as writeback_key,
    order_key,
    channel,
    store_id,
    channel_order_id,
    afterclick_status,
    channel_status,
    delivered_at
from mapped
where channel_status is not null
