{{ config(materialized='ephemeral') }}
-- The record-level checks of the sources' data, as they stand in this build: one row per finding
-- (check_name, entity, record_key), with the store and a human detail. A finding never stops the
-- build; rpt_data_quality keeps when each was first and last seen. Each check is one CTE.
{%- set text = api.Column.translate_type("string") %}

with orders as (
    select order_key, store_id, channel, placed_at, canceled_at, gross_amount, discount_amount, shipping_amount, tax_amount,
           total_amount, refunded_amount
    from {{ ref('int_orders_unioned') }}
),

lines as (
    select order_line_key, order_key, store_id, channel, quantity, gross_amount
    from {{ ref('int_order_lines_unioned') }}
),

-- the order's value disagrees with its parts (items + shipping + tax - discounts) by 2 cents or more
order_value_vs_components as (
    select
        'order_value_vs_components' as check_name, store_id, 'order' as entity, order_key as record_key,
        'order value ' || {{ dbt.cast('total_amount', text) }}
            || ' ≠ items ' || {{ dbt.cast('gross_amount', text) }}
            || ' + shipping ' || {{ dbt.cast('coalesce(shipping_amount, 0)', text) }}
            || ' + tax ' || {{ dbt.cast('coalesce(tax_amount, 0)', text) }}
            || ' − discounts ' || {{ dbt.cast('coalesce(discount_amount, 0)', text) }}
            || case when channel = 'vtex' then ' (totals)' else '' end as detail
    from orders
    where total_amount is not null and gross_amount is not null
        and abs(total_amount - (gross_amount - coalesce(discount_amount, 0) + coalesce(shipping_amount, 0)
                                + coalesce(tax_amount, 0))) >= 0.02
),

-- the order's items total is not the sum of its lines (before discounts), by 2 cents or more
line_totals as (
    select order_key, count(*) as line_count, sum(gross_amount) as lines_gross
    from lines
    group by order_key
),

lines_vs_items_total as (
    select
        'lines_vs_items_total' as check_name, o.store_id, 'order' as entity, o.order_key as record_key,
        'items total ' || {{ dbt.cast('o.gross_amount', text) }} || ' ≠ ' || {{ dbt.cast('l.line_count', text) }}
            || ' lines adding up to ' || {{ dbt.cast('l.lines_gross', text) }} as detail
    from orders as o
    inner join line_totals as l on o.order_key = l.order_key
    where o.gross_amount is not null and abs(o.gross_amount - l.lines_gross) >= 0.02
),

-- more money given back than the order's payments took
refund_totals as (
    select order_key, sum(amount) as refunded
    from {{ ref('int_channel_refunds') }}
    group by order_key
),

payment_totals as (
    select order_key, sum(amount) as paid
    from {{ ref('int_channel_payments') }}
    where kind = 'sale'
    group by order_key
),

refunds_above_payments as (
    select
        'refunds_above_payments' as check_name, o.store_id, 'order' as entity, o.order_key as record_key,
        'refunds ' || {{ dbt.cast('r.refunded', text) }} || ' > payments ' || {{ dbt.cast('coalesce(p.paid, 0)', text) }} as detail
    from orders as o
    inner join refund_totals as r on o.order_key = r.order_key
    left join payment_totals as p on o.order_key = p.order_key
    where r.refunded - coalesce(p.paid, 0) >= 0.01
),

-- the refunds the channel lists for an order do not add up to the refunded amount on the order
refunds_vs_order_refunded as (
    select
        'refunds_vs_order_refunded' as check_name, o.store_id, 'order' as entity, o.order_key as record_key,
        'order refunded ' || {{ dbt.cast('o.refunded_amount', text) }} || ' ≠ listed refunds '
            || {{ dbt.cast('coalesce(r.refunded, 0)', text) }} as detail
    from orders as o
    left join refund_totals as r on o.order_key = r.order_key
    where {{ channel_in('o.channel', 'api_channels') }}
        and abs(coalesce(o.refunded_amount, 0) - coalesce(r.refunded, 0)) >= 0.01
),

-- a quantity of zero or less on an order line or a return
non_positive_quantity as (
    select 'non_positive_quantity' as check_name, store_id, 'order_line' as entity, order_line_key as record_key,
           'quantity ' || {{ dbt.cast('quantity', text) }} as detail
    from lines
    where quantity <= 0
    union all
    select 'non_positive_quantity', store_id, 'channel_return_line', return_line_key,
           'quantity ' || {{ dbt.cast('quantity', text) }}
    from {{ ref('stg_shopify__returns') }}
    where quantity <= 0
    union all
    select 'non_positive_quantity', o.store_id, 'warehouse_return', r.return_key,
           'quantity ' || {{ dbt.cast('r.quantity', text) }}
    from {{ ref('stg_wms__returns_received') }} as r
    left join orders as o on r.order_key = o.order_key
    where r.quantity <= 0
),

-- a negative payment, refund or marketing spend; a price of zero or less
negative_amount as (
    select 'negative_amount' as check_name, store_id, 'payment' as entity, payment_key as record_key,
           'payment amount ' || {{ dbt.cast('amount', text) }} as detail
    from {{ ref('int_channel_payments') }}
    where amount < 0
    union all
    select 'negative_amount', store_id, 'refund', refund_key, 'refund amount ' || {{ dbt.cast('amount', text) }}
    from {{ ref('int_channel_refunds') }}
    where amount < 0
    union all
    select 'negative_amount', store_id, 'marketing_spend', spend_key, 'spend ' || {{ dbt.cast('spend', text) }}
    from {{ ref('stg_marketing__spend') }}
    where spend < 0
    union all
    select 'negative_amount', cast(null as {{ text }}), 'price', price_key, 'price ' || {{ dbt.cast('price', text) }}
    from {{ ref('stg_erp__price_lists') }}
    where price <= 0
),

-- instants that cannot be: placed after the as-of instant, canceled before placed, refunded (a day
-- or more) before placed, shipped before placed, delivered before shipped
date_out_of_range as (
    select 'date_out_of_range' as check_name, store_id, 'order' as entity, order_key as record_key,
           'placed at ' || {{ dbt.cast('placed_at', text) }} || ', after the as-of instant ' || {{ dbt.cast(as_of(), text) }} as detail
    from orders
    where placed_at > {{ as_of() }}
    union all
    select 'date_out_of_range', store_id, 'order', order_key,
           'canceled at ' || {{ dbt.cast('canceled_at', text) }} || ', before it was placed at ' || {{ dbt.cast('placed_at', text) }}
    from orders
    where canceled_at < placed_at
    union all
    select 'date_out_of_range', r.store_id, 'refund', r.refund_key,
           'refunded at ' || {{ dbt.cast('r.refunded_at', text) }} || ', before the order was placed at ' || {{ dbt.cast('o.placed_at', text) }}
    from {{ ref('int_channel_refunds') }} as r
    inner join orders as o on r.order_key = o.order_key
    where {{ dbt.datediff('o.placed_at', 'r.refunded_at', 'day') }} < 0
    union all
    select 'date_out_of_range', store_id, 'shipment', shipment_id,
           case when shipped_at < placed_at
                then 'shipped at ' || {{ dbt.cast('shipped_at', text) }} || ', before the order was placed at ' || {{ dbt.cast('placed_at', text) }}
                else 'delivered at ' || {{ dbt.cast('delivered_at', text) }} || ', before it was shipped at ' || {{ dbt.cast('shipped_at', text) }} end
    from {{ ref('fct_shipments') }}
    where (shipped_at < placed_at or delivered_at < shipped_at)
      and parcel_source = 'warehouse'  -- an export's dates are the order's, reported once below
    union all
    select 'date_out_of_range', store_id, 'order', order_key,
           case when shipped_at < placed_at
                then 'shipped at ' || {{ dbt.cast('shipped_at', text) }} || ', before it was placed at ' || {{ dbt.cast('placed_at', text) }}
                else 'delivered at ' || {{ dbt.cast('delivered_at', text) }} || ', before it was shipped at ' || {{ dbt.cast('shipped_at', text) }} end
    from {{ ref('fct_order_cycle') }}
    where shipped_at < placed_at or delivered_at < shipped_at
),

-- a line whose order is not there (the order marts leave it out)
orphan_line as (
    select 'orphan_line' as check_name, l.store_id, 'order_line' as entity, l.order_line_key as record_key,
           'order ' || l.order_key || ' not found' as detail
    from lines as l
    left join orders as o on l.order_key = o.order_key
    where o.order_key is null
),

findings as (
    select * from order_value_vs_components
    union all select * from lines_vs_items_total
    union all select * from refunds_above_payments
    union all select * from refunds_vs_order_refunded
    union all select * from non_positive_quantity
    union all select * from negative_amount
    union all select * from date_out_of_range
    union all select * from orphan_line
)

-- one row per finding: a record caught twice by one check (an order both early-shipped and
-- early-delivered) keeps one detail
select check_name || '|' || entity || '|' || record_key as finding_key,
       check_name, store_id, entity, record_key, min(detail) as detail
from findings
group by check_name, store_id, entity, record_key
