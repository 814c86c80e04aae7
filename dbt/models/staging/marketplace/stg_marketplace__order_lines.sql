-- One row per order line, from the latest export that carried the order. An order exported without
-- item rows has no line (its one raw row has no SKU): it is an order of stg_marketplace__orders only.
with lines as (
    select
        *,
        dense_rank() over (
            partition by _store, order_id
            order by updated_at desc, _loaded_at desc, source_file desc
        ) as version_rank
    from {{ source('marketplace', 'marketplace__order_lines') }}
),

latest as (
    select * from lines where version_rank = 1 and sku is not null
)

select
    _store || ':' || order_id || ':' || cast(row_number() over (partition by _store, order_id order by source_row) as {{ dbt.type_string() }}) as order_line_key,
    _store || ':' || order_id as order_key,
    _store as store_id,
    'marketplace' as channel,
    cast(row_number() over (partition by _store, order_id order by source_row) as integer) as line_number,
    sku,
    cast(quantity as integer) as quantity,
    -- a quantity of 0 (or none) has no unit price: the line's amount stays, its unit price is null
    case when quantity > 0 then {{ money('round(' ~ money('item_price') ~ ' / quantity, 2)') }} end as unit_price,
    {{ money('item_price') }} as gross_amount,
    {{ money('coalesce(item_discount, 0)') }} as discount_amount,
    {{ money('coalesce(item_tax, 0)') }} as tax_amount,
    {{ money('coalesce(shipping_price, 0)') }} as shipping_amount,
    currency,
    status as channel_status,
    placed_at,
    updated_at,
    merchant_order_id,
    buyer_email,
    _loaded_at
from latest
