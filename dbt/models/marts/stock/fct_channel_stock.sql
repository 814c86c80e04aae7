-- What each channel store should sell per SKU, from the network's current stock: per warehouse
-- that serves the store (seed channel_stock_rules), its sellable ATP (on hand minus safety stock
-- minus every open order line's reservation, of every channel) times the store's share_pct minus
-- the store's buffer_units, never below zero, summed over those warehouses (quantity_to_show).
-- What is sent is that figure as the channel means its stock quantity (quantity_to_send): a
-- channel that sells the quantity it is sent minus its own open orders' reservations (var
-- channels.stock_reserving_channels: VTEX, Magento MSI) is sent those units on top, so they are
-- not subtracted twice. Next to it, what the channel held at its last inventory read, and the
-- drift between the two. This is the desired state of the stock write-back (wb_stock).
with current_levels as (
    select * from {{ ref('fct_stock_levels') }} where is_current
),

per_warehouse as (
    select
        r.store_id,
        l.sku,
        l.on_hand,
        l.reserved,
        l.available_to_promise,
        floor(l.atp_sellable * r.share_pct / 100.0) - r.buffer_units as allotted
    from {{ ref('channel_stock_rules') }} as r
    inner join current_levels as l
        on r.warehouse_id = l.warehouse_id
),

own_reserved as (
    -- the units the store's own open orders hold, which a stock-reserving channel holds too
    select store_id, sku, sum(quantity) as reserved_units
    from {{ ref('int_stock_reservations') }}
    where placed_at <= {{ as_of() }}
      and (released_at is null or released_at > {{ as_of() }})
      and {{ channel_in('channel', 'stock_reserving_channels') }}
    group by store_id, sku
),

desired as (
    select
        store_id,
        sku,
        count(*) as serving_warehouses,
        sum(on_hand) as network_on_hand,
        sum(reserved) as network_reserved,
        sum(available_to_promise) as network_available_to_promise,
        cast(sum(case when allotted > 0 then allotted else 0 end) as integer) as quantity_to_show
    from per_warehouse
    group by store_id, sku
),

shown as (
    select store_id, sku, sum(available) as channel_available, max(observed_at) as channel_observed_at
    from {{ ref('stg_channels__inventory_levels') }}
    group by store_id, sku
),

joined as (
    select
        coalesce(d.store_id, s.store_id) as store_id,
        coalesce(d.sku, s.sku) as sku,
        coalesce(d.serving_warehouses, 0) as serving_warehouses,
        coalesce(d.network_on_hand, 0) as network_on_hand,
        coalesce(d.network_reserved, 0) as network_reserved,
        coalesce(d.network_available_to_promise, 0) as network_available_to_promise,
        coalesce(d.quantity_to_show, 0) as quantity_to_show,
        case when d.store_id is null then 0 else coalesce(o.reserved_units, 0) end as channel_reserved_units,
        s.channel_available,
        s.channel_observed_at
    from desired as d
    full outer join shown as s
        on d.store_id = s.store_id and d.sku = s.sku
    left join own_reserved as o
        on d.store_id = o.store_id and d.sku = o.sku
)

select
    {{ dbt.concat(["joined.store_id", "':'", "joined.sku"]) }} as channel_stock_key,
    joined.store_id,
    stores.channel,
    joined.sku,
    joined.serving_warehouses,
    joined.network_on_hand,
    joined.network_reserved,
    joined.network_available_to_promise,
    joined.quantity_to_show,
    joined.channel_reserved_units,
    joined.quantity_to_show + joined.channel_reserved_units as quantity_to_send,
    joined.channel_available,
    joined.channel_observed_at,
    joined.channel_available - (joined.quantity_to_show + joined.channel_reserved_units) as drift_units,
    coalesce(joined.channel_available <> joined.quantity_to_show + joined.channel_reserved_units, false) as has_drift
from joined
inner join {{ ref('dim_stores') }} as stores  -- a stock rule of a store neither configured nor selling: no row
    on joined.store_id = stores.store_id
