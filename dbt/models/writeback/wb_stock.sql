-- The stock quantity each API channel store is sent per SKU, at the channel location that carries
-- afterclick's allocation (seed channel_stock_locations): the desired state of the stock push.
-- quantity is what the channel means by its stock quantity (fct_channel_stock.quantity_to_send);
-- sellable is what the channel then sells (quantity_to_show).
select
    {{ dbt.concat(["c.store_id", "':'", "c.sku"]) }} as writeback_key,
    c.store_id,
    c.channel,
    c.sku,
    l.location_id,
    c.quantity_to_send as quantity,
    c.quantity_to_show as sellable
from {{ ref('fct_channel_stock') }} as c
inner join {{ ref('channel_stock_locations') }} as l
    on c.store_id = l.store_id
where {{ channel_in('c.channel', 'writeback_channels') }}
  and c.serving_warehouses > 0
