-- Every order line that holds (or held) stock: from placement until its order ships, or is
-- canceled or refunded before that. The line reserves at the warehouse the WMS fulfils the
-- order from; before the WMS has seen the order, at the store's first warehouse
-- (seed channel_stock_rules, priority 1).
with order_warehouse as (
    select
        order_key,
        min(warehouse_id) as warehouse_id,
        min(shipped_at) as first_shipped_at
    from {{ ref('int_parcels') }}
    group by order_key
),

preferred_warehouse as (
    select store_id, min(warehouse_id) as warehouse_id
    from {{ ref('channel_stock_rules') }}
    where priority = 1
    group by store_id
),

ends as (
    -- what ends a reservation: the first parcel shipped, or, before that, a cancellation or a
    -- refund (a marketplace export may show a canceled order only as refunded)
    select
        c.order_key,
        w.warehouse_id,
        w.first_shipped_at,
        case when c.canceled_at is null then c.refunded_at
             when c.refunded_at is null then c.canceled_at
             when c.canceled_at < c.refunded_at then c.canceled_at else c.refunded_at end as called_off_at,
        case when c.canceled_at is not null then 'canceled' else 'refunded' end as called_off_reason
    from {{ ref('fct_order_cycle') }} as c
    left join order_warehouse as w
        on c.order_key = w.order_key
)

select
    l.order_line_key,
    l.order_key,
    o.store_id,
    o.channel,
    l.sku,
    l.quantity,
    coalesce(e.warehouse_id, p.warehouse_id) as warehouse_id,
    e.warehouse_id is not null as is_warehouse_confirmed,
    o.placed_at,
    -- released no earlier than placed: a source that dates a cancellation or a shipment before the
    -- order (a finding of rpt_data_quality) holds nothing, rather than a negative reservation
    case
        when e.called_off_at is not null and (e.first_shipped_at is null or e.called_off_at < e.first_shipped_at)
            then case when e.called_off_at < o.placed_at then o.placed_at else e.called_off_at end
        when e.first_shipped_at < o.placed_at then o.placed_at
        else e.first_shipped_at
    end as released_at,
    case
        when e.called_off_at is not null and (e.first_shipped_at is null or e.called_off_at < e.first_shipped_at)
            then e.called_off_reason
        when e.first_shipped_at is not null then 'shipped'
    end as release_reason
from {{ ref('fct_order_lines') }} as l
inner join {{ ref('fct_orders') }} as o
    on l.order_key = o.order_key
left join ends as e
    on l.order_key = e.order_key
left join preferred_warehouse as p
    on o.store_id = p.store_id
where l.sku is not null
