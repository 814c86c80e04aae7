-- Marketplace exports are line-level; an order is its lines from the latest export.
select
    order_key,
    store_id,
    channel,
    {{ dbt.split_part('order_key', "':'", 2) }} as channel_order_id,
    max(merchant_order_id) as order_number,
    max(buyer_email) as customer_email,
    cast(null as {{ dbt.type_string() }}) as channel_customer_id,
    max(currency) as currency,
    min(placed_at) as placed_at,
    max(updated_at) as updated_at,
    -- marketplaces collect payment at checkout: an order past "pending" was paid when placed
    case when max(lower(channel_status)) not in ('pending', 'pendiente', 'cancelled', 'canceled', 'cancelado')
         then min(placed_at) end as paid_at,
    case when max(lower(channel_status)) in ('cancelled', 'canceled', 'cancelado') then max(updated_at) end as canceled_at,
    max(channel_status) as channel_status,
    {{ money('sum(gross_amount)') }} as gross_amount,
    {{ money('sum(discount_amount)') }} as discount_amount,
    {{ money('sum(shipping_amount)') }} as shipping_amount,
    {{ money('sum(tax_amount)') }} as tax_amount,
    {{ money('sum(gross_amount) - sum(discount_amount) + sum(shipping_amount) + sum(tax_amount)') }} as total_amount,
    {{ money('0') }} as refunded_amount,
    max(_loaded_at) as _loaded_at
from {{ ref('stg_marketplace__order_lines') }}
group by order_key, store_id, channel
