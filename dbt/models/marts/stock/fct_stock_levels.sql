-- Stock per SKU, warehouse and day (end of day), from the first day the pair has any activity to
-- the as-of day; the as-of day's row is the current position (is_current).
--
-- On hand comes from the WMS: the latest stock snapshot taken by the end of the day, rolled
-- forward with the movements since (or, before the first snapshot, rolled back from it), so
-- a single snapshot plus the movement ledger rebuilds the whole history. Reserved is what open
-- order lines hold (int_stock_reservations); safety stock comes from the seed safety_stock
-- (SKU, else category, else default); available_to_promise = on_hand - reserved - safety_stock
-- and is kept negative (the oversold units); what is pushed to channels is atp_sellable.
--
-- Incremental: every row is its change point's level carried over the days to the next one (see
-- change_points below), so a build rewrites a pair's rows only from the first day its change
-- points differ from the rows already built (a point added, changed or gone: a late movement, a
-- snapshot, a cancellation that revises past sales), and every pair's from the last day built on
-- (the as-of day moved: is_current, the next inbound, the new days). Rows past the as-of day (a
-- replay of an earlier as-of) are deleted first. The history keeps the safety stock and category
-- each day was built with; a change of the seed or of stock_velocity_days reaches the past days
-- with --full-refresh (a changed velocity window renames a column: the build fails until then).
{% set velocity_days = var('stock_velocity_days') %}
{#- A pair's rows start on its first day of activity: rows before it (its earliest change point is
    gone, e.g. the only order line that reserved it was removed from its order) are deleted after
    an incremental build, as a build from scratch would not have them (a hook: rendered when it runs). -#}
{% set before_first_activity %}{% raw %}
{% if is_incremental() %}
delete from {{ this }} as levels where not exists (
    select 1 from (
        select sku, warehouse_id, min(first_day) as first_day
        from (
            select sku, warehouse_id, cast(moved_at as date) as first_day
            from {{ ref('stg_wms__stock_movements') }} where moved_at <= {{ as_of() }}
            union all
            select sku, warehouse_id, cast(snapshot_at as date)
            from {{ ref('stg_wms__stock_snapshots') }} where snapshot_at <= {{ as_of() }}
            union all
            select sku, warehouse_id, cast(placed_at as date)
            from {{ ref('int_stock_reservations') }} where warehouse_id is not null and placed_at <= {{ as_of() }}
            union all
            select sku, warehouse_id, cast(ordered_at as date)
            from {{ ref('stg_erp__purchase_orders') }} where status <> 'canceled' and ordered_at <= {{ as_of() }}
        ) as activity
        group by sku, warehouse_id
    ) as pairs
    where pairs.sku = levels.sku and pairs.warehouse_id = levels.warehouse_id
      and pairs.first_day <= levels.stock_date
)
{% endif %}
{% endraw %}{% endset %}
{{ config(materialized='incremental', unique_key='stock_level_key', incremental_strategy='delete+insert',
          on_schema_change='fail',
          pre_hook="{% if is_incremental() %}delete from {{ this }} where stock_date > cast({{ as_of() }} as date){% endif %}",
          post_hook=before_first_activity) }}
with movements as (
    select sku, warehouse_id, moved_at, signed_quantity
    from {{ ref('stg_wms__stock_movements') }}
    where moved_at <= {{ as_of() }}
),

snapshots as (
    select sku, warehouse_id, snapshot_at, on_hand
    from {{ ref('stg_wms__stock_snapshots') }}
    where snapshot_at <= {{ as_of() }}
),

reservations as (
    select * from {{ ref('int_stock_reservations') }}
    where warehouse_id is not null and placed_at <= {{ as_of() }}
),

purchase_orders as (
    select * from {{ ref('stg_erp__purchase_orders') }}
    where status <> 'canceled' and ordered_at <= {{ as_of() }}
),

-- day-level flows: each is summed up to the day by a running total below
daily_flows as (
    select sku, warehouse_id, day, sum(net_movement) as net_movement, sum(reserve_delta) as reserve_delta,
           sum(units_placed) as units_placed, sum(inbound_delta) as inbound_delta
    from (
        select sku, warehouse_id, cast(moved_at as date) as day, signed_quantity as net_movement,
               0 as reserve_delta, 0 as units_placed, 0 as inbound_delta
        from movements
        union all
        select sku, warehouse_id, cast(placed_at as date), 0, quantity,
               case when release_reason in ('canceled', 'refunded') and released_at <= {{ as_of() }} then 0 else quantity end, 0
        from reservations
        union all
        select sku, warehouse_id, cast(released_at as date), 0, -quantity, 0, 0
        from reservations
        where released_at <= {{ as_of() }}
        union all
        select sku, warehouse_id, cast(ordered_at as date), 0, 0, 0, quantity
        from purchase_orders
        union all
        select sku, warehouse_id, cast(received_at as date), 0, 0, 0, -quantity
        from purchase_orders
        where received_at <= {{ as_of() }}
    ) as flows
    group by sku, warehouse_id, day
),

-- a snapshot fixes the level: offset = on hand at the snapshot - the movements up to it
snapshot_offsets as (
    select
        s.sku, s.warehouse_id, s.snapshot_at, cast(s.snapshot_at as date) as snapshot_day,
        s.on_hand - coalesce(sum(m.signed_quantity), 0) as level_offset,
        row_number() over (partition by s.sku, s.warehouse_id, cast(s.snapshot_at as date)
                           order by s.snapshot_at desc) as latest_of_day,
        row_number() over (partition by s.sku, s.warehouse_id order by s.snapshot_at) as snapshot_number
    from snapshots as s
    left join movements as m
        on s.sku = m.sku and s.warehouse_id = m.warehouse_id and m.moved_at <= s.snapshot_at
    group by s.sku, s.warehouse_id, s.snapshot_at, s.on_hand
),

-- Everything below is computed on the days a pair changes (its flow and snapshot days, and the
-- days a sale leaves the velocity window), then spread over the calendar once: a daily running
-- total over every SKU, warehouse and day would sort the whole history.
change_points as (
    select
        coalesce(f.sku, o.sku) as sku,
        coalesce(f.warehouse_id, o.warehouse_id) as warehouse_id,
        coalesce(f.day, o.snapshot_day) as day,
        coalesce(f.net_movement, 0) as net_movement,
        coalesce(f.reserve_delta, 0) as reserve_delta,
        coalesce(f.inbound_delta, 0) as inbound_delta,
        coalesce(f.units_placed, 0) as velocity_delta,
        o.level_offset
    from daily_flows as f
    full outer join (select * from snapshot_offsets where latest_of_day = 1) as o
        on f.sku = o.sku and f.warehouse_id = o.warehouse_id and f.day = o.snapshot_day
    union all
    -- a day's sales leave the {{ velocity_days }}-day window {{ velocity_days }} days later
    select sku, warehouse_id, cast({{ dbt.dateadd('day', velocity_days, 'day') }} as date), 0, 0, 0, -units_placed, null
    from daily_flows
    where units_placed <> 0
),

calendar_end as (
    select max(date_day) as last_day from {{ ref('dim_dates') }}
),

running as (
    select
        c.sku, c.warehouse_id, c.day,
        coalesce(
            lead(c.day) over (partition by c.sku, c.warehouse_id order by c.day),
            cast({{ dbt.dateadd('day', 1, 'e.last_day') }} as date)
        ) as next_day,
        max(c.level_offset) as level_offset,
        sum(sum(c.net_movement)) over pair_to_date as cumulative_movement,
        sum(sum(c.reserve_delta)) over pair_to_date as reserved,
        sum(sum(c.inbound_delta)) over pair_to_date as inbound_units,
        sum(sum(c.velocity_delta)) over pair_to_date as units_sold_{{ velocity_days }}d,
        count(max(c.level_offset)) over pair_to_date as snapshots_so_far
    from change_points as c
    cross join calendar_end as e
    where c.day <= e.last_day
    group by c.sku, c.warehouse_id, c.day, e.last_day
    window pair_to_date as (partition by c.sku, c.warehouse_id order by c.day
                            rows between unbounded preceding and current row)
),

anchored as (
    -- the offset of the latest snapshot so far; before the first snapshot, the first one's
    select
        r.*,
        coalesce(
            max(r.level_offset) over (partition by r.sku, r.warehouse_id, r.snapshots_so_far),
            f.level_offset,
            0
        ) as anchor_offset
    from running as r
    left join snapshot_offsets as f
        on r.sku = f.sku and r.warehouse_id = f.warehouse_id and f.snapshot_number = 1 and r.snapshots_so_far = 0
),

{% if is_incremental() %}
built as (
    select coalesce(max(stock_date), cast('1900-01-01' as date)) as last_day from {{ this }}
),

-- change points with no built row of the same day and level (new, moved or changed), and built
-- change points that are gone
differences as (
    select a.sku, a.warehouse_id, a.day
    from anchored as a
    left join {{ this }} as t
        on t.sku = a.sku and t.warehouse_id = a.warehouse_id and t.stock_date = a.day
    where t.stock_level_key is null
       or t.level_changed_on <> a.day
       or t.on_hand <> cast(a.anchor_offset + a.cumulative_movement as integer)
       or t.reserved <> cast(a.reserved as integer)
       or t.inbound_units <> cast(a.inbound_units as integer)
       or t.units_sold_{{ velocity_days }}d <> cast(a.units_sold_{{ velocity_days }}d as integer)
    union all
    select t.sku, t.warehouse_id, t.stock_date
    from {{ this }} as t
    left join anchored as a
        on a.sku = t.sku and a.warehouse_id = t.warehouse_id and a.day = t.stock_date
    where t.stock_date = t.level_changed_on and a.sku is null
),

first_difference as (
    select sku, warehouse_id, min(day) as first_day
    from differences
    group by sku, warehouse_id
),
{% endif %}

-- the days each change point holds: from its day until the next one's (on an incremental
-- build, from the pair's first day to rebuild: its first difference, else the last day built)
spans as (
    {% if is_incremental() %}
    select r.*, greatest(r.day, r.from_day) as span_start
    from (
        select a.*, least(coalesce(f.first_day, b.last_day), b.last_day) as from_day
        from anchored as a
        cross join built as b
        left join first_difference as f
            on f.sku = a.sku and f.warehouse_id = a.warehouse_id
    ) as r
    where r.next_day > r.from_day
    {% else %}
    select a.*, a.day as span_start
    from anchored as a
    {% endif %}
),

-- one row per pair and calendar day
daily as (
    select s.*, d.date_day as stock_date, d.is_as_of_day
    from spans as s
    inner join {{ ref('dim_dates') }} as d
        on d.date_day >= s.span_start and d.date_day < s.next_day
),

safety as (
    select
        p.sku,
        coalesce(by_sku.units, by_category.units, by_default.units, 0) as safety_stock,
        p.category
    from {{ ref('stg_erp__products') }} as p
    left join {{ ref('safety_stock') }} as by_sku
        on by_sku.scope = 'sku' and by_sku.scope_value = p.sku
    left join {{ ref('safety_stock') }} as by_category
        on by_category.scope = 'category' and by_category.scope_value = p.category
    left join {{ ref('safety_stock') }} as by_default
        on by_default.scope = 'default'
),

default_safety as (
    select coalesce(max(units), 0) as units from {{ ref('safety_stock') }} where scope = 'default'
),

next_inbound as (
    select sku, warehouse_id, cast(min(expected_at) as date) as next_inbound_date
    from purchase_orders
    where received_at is null or received_at > {{ as_of() }}
    group by sku, warehouse_id
),

levels as (
    select
        a.sku,
        a.warehouse_id,
        a.stock_date,
        a.day as level_changed_on,
        a.is_as_of_day as is_current,
        s.category,
        cast(a.anchor_offset + a.cumulative_movement as integer) as on_hand,
        cast(a.reserved as integer) as reserved,
        cast(coalesce(s.safety_stock, d.units) as integer) as safety_stock,
        cast(a.inbound_units as integer) as inbound_units,
        case when a.is_as_of_day then n.next_inbound_date end as next_inbound_date,
        cast(a.units_sold_{{ velocity_days }}d as integer) as units_sold_{{ velocity_days }}d,
        a.units_sold_{{ velocity_days }}d / {{ velocity_days }}.0 as sales_velocity_per_day
    from daily as a
    cross join default_safety as d
    left join safety as s
        on a.sku = s.sku
    left join next_inbound as n
        on a.sku = n.sku and a.warehouse_id = n.warehouse_id
),

atp as (
    select
        levels.*,
        on_hand - reserved - safety_stock as available_to_promise
    from levels
)

select
    {{ dbt.concat(["warehouse_id", "':'", "sku", "':'", dbt.cast("stock_date", api.Column.translate_type("string"))]) }}
        as stock_level_key,
    atp.*,
    case when available_to_promise > 0 then available_to_promise else 0 end as atp_sellable,
    case when available_to_promise < 0 then -available_to_promise else 0 end as oversold_units,
    case when sales_velocity_per_day > 0
         then round(case when available_to_promise > 0 then available_to_promise else 0 end / sales_velocity_per_day, 1)
    end as days_of_cover,
    case when sales_velocity_per_day > 0
         then cast({{ dbt.dateadd('day', 'cast(floor(case when available_to_promise > 0 then available_to_promise else 0 end / sales_velocity_per_day) as integer)', 'stock_date') }} as date)
    end as projected_stockout_date,
    available_to_promise <= 0 as is_stockout
from atp
