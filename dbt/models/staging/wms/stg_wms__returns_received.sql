-- Returns received, one row per order, SKU and receipt instant; reason text kept as written.
select
    {{ dbt.concat(["order_key", "':'", "coalesce(sku, '')", "':'", dbt.cast("received_at", api.Column.translate_type("string"))]) }} as return_key,
    order_key,
    nullif(sku, '') as sku,
    quantity,
    condition,
    disposition,
    received_at,
    reason_code,
    reason_text,
    initiator,
    _store as warehouse_id,
    _loaded_at
from ({{ latest_version(source('wms', 'wms__returns_received'), 'order_key, sku, received_at', '_loaded_at desc') }}) as latest
