-- Stock movements: quantity signed by direction (receipts and positive adjustments add).
select
    {{ dbt.concat(["coalesce(warehouse_id, _store)", "':'", "sku", "':'", "movement", "':'", "coalesce(reference, '')", "':'",
                   dbt.cast("moved_at", api.Column.translate_type("string"))]) }} as movement_key,
    sku,
    coalesce(warehouse_id, _store) as warehouse_id,
    movement,
    quantity,
    reference,
    moved_at,
    _loaded_at
from ({{ latest_version(source('wms', 'wms__stock_movements'), '_store, sku, movement, reference, moved_at', '_loaded_at desc') }}) as latest
