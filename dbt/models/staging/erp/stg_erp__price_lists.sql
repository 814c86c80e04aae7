-- One price per price list and SKU (latest version); segment says who the list is for (b2c, b2b).
select
    price_list || ':' || sku as price_key,
    price_list,
    segment,
    sku,
    {{ money('price') }} as price,
    currency,
    cast(valid_from as date) as valid_from,
    cast(updated_at as timestamp) as updated_at,
    _loaded_at
from ({{ latest_version(source('erp', 'erp__price_lists'), 'price_list, sku', 'cast(updated_at as timestamp) desc, _loaded_at desc') }}) as latest
