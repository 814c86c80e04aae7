-- Stock movements per SKU and warehouse. WMSs differ on signs: some send every quantity positive
-- and let the movement type say the direction, some sign them; signed_quantity is + for stock in
-- and - for stock out either way (types not known here keep the sign they came with).
select
    {{ dbt.concat(["coalesce(warehouse_id, _store)", "':'", "sku", "':'", "movement", "':'", "coalesce(reference, '')", "':'",
                   dbt.cast("moved_at", api.Column.translate_type("string"))]) }} as movement_key,
    sku,
    coalesce(warehouse_id, _store) as warehouse_id,
    movement,
    quantity,
    case
        when movement in ('receipt', 'return_restock', 'transfer_in', 'adjustment_in', 'opening', 'found')
            then abs(quantity)
        when movement in ('shipment', 'pick', 'transfer_out', 'adjustment_out', 'scrap', 'lost')
            then -abs(quantity)
        else quantity
    end as signed_quantity,
    reference,
    moved_at,
    _loaded_at
from ({{ latest_version(source('wms', 'wms__stock_movements'), '_store, sku, movement, reference, moved_at', '_loaded_at desc') }}) as latest
