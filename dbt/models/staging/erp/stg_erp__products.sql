-- The product master: one row per SKU, latest version.
select
    sku,
    name as product_name,
    category,
    {{ money('unit_cost') }} as unit_cost,
    {{ money('list_price') }} as list_price,
    cast(weight_kg as double) as weight_kg,
    cast(updated_at as timestamp) as updated_at,
    _loaded_at
from ({{ latest_version(source('erp', 'erp__products'), 'sku', 'cast(updated_at as timestamp) desc, _loaded_at desc') }}) as latest
