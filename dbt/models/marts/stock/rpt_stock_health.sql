-- The stock problems to act on now, one row per problem:
--   stockout      a SKU with nothing to promise at a warehouse (available_to_promise <= 0);
--   low_cover     sellable stock lasting fewer than var low_cover_days days at the current
--                 sales velocity, with no purchase order expected before it runs out;
--   oversell      an order line accepted on a day its SKU's available_to_promise at that
--                 warehouse ended below zero;
--   channel_drift a channel showing a quantity other than the one it should (fct_channel_stock).
with current_levels as (
    select * from {{ ref('fct_stock_levels') }} where is_current
),

stockouts as (
    select 'stockout' as issue, sku, warehouse_id, cast(null as {{ dbt.type_string() }}) as store_id,
           cast(null as {{ dbt.type_string() }}) as order_key,
           available_to_promise as quantity, days_of_cover, next_inbound_date, stock_date as observed_date
    from current_levels
    where is_stockout
),

low_cover as (
    select 'low_cover', sku, warehouse_id, cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }}),
           atp_sellable, days_of_cover, next_inbound_date, stock_date
    from current_levels
    where not is_stockout
      and days_of_cover < {{ var('low_cover_days') }}
      and (next_inbound_date is null or next_inbound_date > projected_stockout_date)
),

oversells as (
    select distinct 'oversell', r.sku, r.warehouse_id, r.store_id, r.order_key,
           l.available_to_promise, l.days_of_cover, l.next_inbound_date, l.stock_date
    from {{ ref('int_stock_reservations') }} as r
    inner join {{ ref('fct_stock_levels') }} as l
        on r.sku = l.sku and r.warehouse_id = l.warehouse_id and cast(r.placed_at as date) = l.stock_date
    where l.available_to_promise < 0
      and coalesce(r.release_reason, '') not in ('canceled', 'refunded')
),

drift as (
    select 'channel_drift', sku, cast(null as {{ dbt.type_string() }}), store_id, cast(null as {{ dbt.type_string() }}),
           drift_units, cast(null as {{ dbt.type_float() }}), cast(null as date), cast(channel_observed_at as date)
    from {{ ref('fct_channel_stock') }}
    where has_drift
),

issues as (
    select * from stockouts
    union all select * from low_cover
    union all select * from oversells
    union all select * from drift
)

select
    {{ dbt.concat(["issue", "':'", "sku", "':'", "coalesce(warehouse_id, '')", "':'", "coalesce(store_id, '')", "':'",
                   "coalesce(order_key, '')"]) }} as stock_issue_key,
    issues.*
from issues
