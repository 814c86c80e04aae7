-- Stock movements per SKU and warehouse. WMSs differ on signs: some send every quantity positive
-- and let the movement type say the direction, some sign them; signed_quantity is + for stock in
-- and - for stock out either way (types not known here keep the sign they came with). A movement
-- is named by its warehouse, SKU, type, reference and instant; a version sent again replaces it.
{{ incremental_staging('movement_key') }}
select
    _record_key as movement_key,
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
from ({{ latest_version_of_news(source('wms', 'wms__stock_movements'),
                                dbt.concat(["coalesce(warehouse_id, _store)", "':'", "sku", "':'", "movement", "':'",
                                            "coalesce(reference, '')", "':'", dbt.cast("moved_at", api.Column.translate_type("string"))]),
                                '_loaded_at desc') }}) as latest
