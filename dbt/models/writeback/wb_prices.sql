-- The price each API channel store should show per SKU: the ERP's retail (B2C) price list, and
-- the wholesale (B2B) list where the channel supports customer-group prices (Magento), in the
-- store's currency at the seed rate.
-- A price of zero or less is never pushed (a data-quality finding in rpt_data_quality names it).
with prices as (
    select * from {{ ref('stg_erp__price_lists') }}
    where price > 0
)

select
    {{ dbt.concat(["s.store_id", "':'", "p.sku", "':'", "p.segment"]) }} as writeback_key,
    s.store_id,
    s.channel,
    p.sku,
    p.segment,
    p.price_list,
    s.currency,
    {{ money('round(p.price / r.rate_to_eur, 2)') }} as price
from prices as p
cross join {{ ref('stores') }} as s
inner join {{ ref('currency_rates') }} as r on s.currency = r.currency
where {{ channel_in('s.channel', 'writeback_channels') }}
  and (p.segment = 'b2c' or s.channel = 'magento')
