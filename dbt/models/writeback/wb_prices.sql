-- The price each API channel store should show per SKU, as the store means its prices: the ERP's
-- retail (B2C) price list, and the wholesale (B2B) list where the channel has customer-group price
-- lists (var channels.price_list_channels: Magento); converted from the price list's currency to
-- the store's at the rates of the as-of day (the last currency_rates row on or before it): a
-- store or a list whose currency has no rate gets no price, never one in another currency; plus
-- the store's tax rate where its prices include tax (macro store_price_rules). The ERP's lists
-- are net of tax.
-- A price of zero or less is never pushed (a data-quality finding in rpt_data_quality names it).
with prices as (
    select * from {{ ref('stg_erp__price_lists') }}
    where price > 0
),

price_rules as (
    {{ store_price_rules() }}
)

select
    {{ dbt.concat(["s.store_id", "':'", "p.sku", "':'", "p.segment"]) }} as writeback_key,
    s.store_id,
    s.channel,
    p.sku,
    p.segment,
    p.price_list,
    s.currency,
    {{ money('round(p.price * pr.rate_to_eur / r.rate_to_eur * (1 + coalesce(t.tax_rate_pct, 0) / 100.0), 2)') }} as price,
    coalesce(t.prices_include_tax, false) as includes_tax
from prices as p
cross join {{ ref('dim_stores') }} as s
inner join {{ ref('int_currency_rates') }} as r on {{ currency_rate_on('r', 's.currency', as_of()) }}  -- today's rate
inner join {{ ref('int_currency_rates') }} as pr on {{ currency_rate_on('pr', 'p.currency', as_of()) }}
left join price_rules as t
    on s.store_id = t.store_id and t.prices_include_tax
where {{ channel_in('s.channel', 'writeback_channels') }}
  and (p.segment = 'b2c' or {{ channel_in('s.channel', 'price_list_channels') }})
