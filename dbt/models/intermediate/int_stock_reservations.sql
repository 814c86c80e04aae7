-- Every order line that holds (or held) stock: from placement until the parcel that carries it
-- ships, or its order is canceled or refunded before that. A parcel's lines are the units of each
-- SKU the WMS shipment movements of the parcel name (int_parcel_lines); when one SKU is on several
-- lines of an order, the units shipped are matched to its lines in line order, each line released
-- by the parcel that ships its last unit. For an order whose parcels name none of a line's units,
-- the line ships with the order's last parcel (parcel_count of them).
-- The line reserves at the warehouse of its parcel, else of the order's parcels, else (before the
-- WMS has seen the order) at the store's first warehouse (seed channel_stock_rules, priority 1).
with parcels as (
    select shipment_id, order_key, parcel_count, warehouse_id, shipped_at
    from {{ ref('int_parcels') }}
),

order_parcels as (
    select
        order_key,
        min(warehouse_id) as warehouse_id,
        max(coalesce(parcel_count, 1)) as parcel_count,
        count(distinct case when shipped_at is not null then shipment_id end) as parcels_shipped,
        max(shipped_at) as last_shipped_at
    from parcels
    group by order_key
),

shipped_units as (
    -- each shipped parcel's units of a SKU, and the order's units of that SKU shipped up to it
    select
        pl.order_key,
        pl.sku,
        p.shipped_at,
        p.warehouse_id,
        pl.quantity,
        sum(pl.quantity) over (
            partition by pl.order_key, pl.sku
            order by p.shipped_at, pl.shipment_id
            rows between unbounded preceding and current row
        ) as units_shipped_so_far
    from {{ ref('int_parcel_lines') }} as pl
    inner join parcels as p
        on pl.shipment_id = p.shipment_id
    where p.shipped_at is not null
),

order_lines as (
    -- each line with the order's units of its SKU up to and including it, in line order
    select
        order_line_key,
        order_key,
        sku,
        quantity,
        sum(quantity) over (
            partition by order_key, sku
            order by line_number, order_line_key
            rows between unbounded preceding and current row
        ) as units_ordered_so_far
    from {{ ref('fct_order_lines') }}
    where sku is not null
),

line_parcels as (
    -- the parcel that ships a line's last unit: the one whose units reach the line's running total
    select
        l.order_line_key,
        s.shipped_at,
        s.warehouse_id
    from order_lines as l
    inner join shipped_units as s
        on l.order_key = s.order_key
       and l.sku = s.sku
       and s.units_shipped_so_far >= l.units_ordered_so_far
       and s.units_shipped_so_far - s.quantity < l.units_ordered_so_far
),

preferred_warehouse as (
    select store_id, min(warehouse_id) as warehouse_id
    from {{ ref('channel_stock_rules') }}
    where priority = 1
    group by store_id
),

called_off as (
    -- a cancellation or a refund (a marketplace export may show a canceled order only as refunded)
    select
        order_key,
        case when canceled_at is null then refunded_at
             when refunded_at is null then canceled_at
             when canceled_at < refunded_at then canceled_at else refunded_at end as called_off_at,
        case when canceled_at is not null then 'canceled' else 'refunded' end as called_off_reason
    from {{ ref('fct_order_cycle') }}
),

lines as (
    select
        l.order_line_key,
        l.order_key,
        o.store_id,
        o.channel,
        l.sku,
        l.quantity,
        coalesce(s.warehouse_id, w.warehouse_id, p.warehouse_id) as warehouse_id,
        coalesce(s.warehouse_id, w.warehouse_id) is not null as is_warehouse_confirmed,
        o.placed_at,
        coalesce(
            s.shipped_at,
            case when w.parcels_shipped >= w.parcel_count then w.last_shipped_at end
        ) as line_shipped_at,
        c.called_off_at,
        c.called_off_reason
    from order_lines as l
    inner join {{ ref('fct_orders') }} as o
        on l.order_key = o.order_key
    left join line_parcels as s
        on l.order_line_key = s.order_line_key
    left join order_parcels as w
        on l.order_key = w.order_key
    left join called_off as c
        on l.order_key = c.order_key
    left join preferred_warehouse as p
        on o.store_id = p.store_id
)

select
    order_line_key,
    order_key,
    store_id,
    channel,
    sku,
    quantity,
    warehouse_id,
    is_warehouse_confirmed,
    placed_at,
    line_shipped_at,
    -- released no earlier than placed: a source that dates a cancellation or a shipment before the
    -- order (a finding of rpt_data_quality) holds nothing, rather than a negative reservation
    case
        when called_off_at is not null and (line_shipped_at is null or called_off_at < line_shipped_at)
            then case when called_off_at < placed_at then placed_at else called_off_at end
        when line_shipped_at < placed_at then placed_at
        else line_shipped_at
    end as released_at,
    case
        when called_off_at is not null and (line_shipped_at is null or called_off_at < line_shipped_at)
            then called_off_reason
        when line_shipped_at is not null then 'shipped'
    end as release_reason
from lines
