-- On hand per SKU, warehouse and snapshot instant.
select
    {{ dbt.concat(["coalesce(warehouse_id, _store)", "':'", "sku", "':'", dbt.cast("snapshot_at", api.Column.translate_type("string"))]) }} as snapshot_key,
    sku,
    coalesce(warehouse_id, _store) as warehouse_id,
    on_hand,
    snapshot_at,
    _loaded_at
from ({{ latest_version(source('wms', 'wms__stock_snapshots'), '_store, sku, snapshot_at', '_loaded_at desc') }}) as latest
