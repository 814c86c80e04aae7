-- The additive parts of the stock KPIs per day (end of day) and warehouse: unit sums and counts of
-- SKU x warehouse pairs (dashboards/kpis.py; docs/concepts/kpis.md). is_current marks the
-- position as of the build.
select
    stock_date,
    warehouse_id,
    max(case when is_current then 1 else 0 end) = 1 as is_current,
    count(*) as sku_warehouse_pairs,
    sum(on_hand) as on_hand,
    sum(reserved) as reserved,
    sum(atp_sellable) as atp_sellable,
    sum(case when is_stockout then 1 else 0 end) as stockout_pairs,
    sum(oversold_units) as oversold_units
from {{ ref('fct_stock_levels') }}
group by stock_date, warehouse_id
