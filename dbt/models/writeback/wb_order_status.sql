-- The status each API channel should show per order, from the canonical order-cycle stage, in
-- the channel's own vocabulary: Shopify (fulfilled / closed are actions, the status is the
-- target state), VTEX (invoiced), Magento (processing / complete / closed / canceled),
-- WooCommerce (processing / completed / refunded / cancelled).
with cycle as (
    select
        c.order_key, c.channel, c.store_id, o.channel_order_id,
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
)

select
    {{ dbt.concat(["store_id", "':'", "channel_order_id"]) }} as writeback_key,
    order_key,
    channel,
    store_id,
    channel_order_id,
    afterclick_status,
    case channel
        when 'shopify' then case afterclick_status when 'canceled' then 'CANCELLED' when 'refunded' then 'CLOSED'
                                                   when 'delivered' then 'CLOSED' when 'shipped' then 'FULFILLED'
                                                   else 'UNFULFILLED' end
        when 'vtex' then case afterclick_status when 'canceled' then 'canceled' when 'invoiced' then 'invoiced'
                                                else 'invoiced' end
        when 'magento' then case afterclick_status when 'canceled' then 'canceled' when 'refunded' then 'closed'
                                                   when 'invoiced' then 'processing' else 'complete' end
        when 'woocommerce' then case afterclick_status when 'canceled' then 'cancelled' when 'refunded' then 'refunded'
                                                       when 'invoiced' then 'processing' else 'completed' end
    end as channel_status
from cycle
where afterclick_status is not null
