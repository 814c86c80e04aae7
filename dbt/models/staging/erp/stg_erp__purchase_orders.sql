-- Purchase orders to suppliers: what arrives where and when (open ones are inbound stock).
select
    po_number,
    sku,
    warehouse_id,
    cast(quantity as integer) as quantity,
    cast(ordered_at as timestamp) as ordered_at,
    cast(expected_at as timestamp) as expected_at,
    cast(received_at as timestamp) as received_at,
    status,
    cast(updated_at as timestamp) as updated_at,
    _loaded_at
from ({{ latest_version(source('erp', 'erp__purchase_orders'), 'po_number', 'cast(updated_at as timestamp) desc, _loaded_at desc') }}) as latest
