-- The refunds each channel lists for an order add up to the refunded amount on the order itself
-- (to the cent), for every API channel order.
with listed as (
    select order_key, sum(amount) as refunds
    from {{ ref('int_channel_refunds') }}
    group by order_key
)

select o.order_key, o.refunded_amount, l.refunds
from {{ ref('int_orders_unioned') }} as o
left join listed as l on o.order_key = l.order_key
where o.channel in ('shopify', 'vtex', 'magento', 'woocommerce')
    and abs(o.refunded_amount - coalesce(l.refunds, 0)) >= 0.01
