-- One row per SKU each channel store lists, with the channel's ids for it (what the stock and
-- price pushes address), its price there, and whether the ERP catalogue knows the SKU; plus one row
-- per ERP product a listing store does not list (is_listed false): the catalogue gaps both ways.
with listings as (
    select * from {{ ref('int_channel_listings') }}
),

products as (
    select sku, product_name from {{ ref('stg_erp__products') }}
),

listing_stores as (
    select distinct store_id, channel from listings
),

unlisted as (
    select s.store_id, s.channel, p.sku
    from listing_stores as s
    cross join products as p
    where not exists (select 1 from listings as l where l.store_id = s.store_id and l.sku = p.sku)
)

select
    l.listing_key,
    l.store_id,
    l.channel,
    l.sku,
    l.channel_product_id,
    l.channel_variant_id,
    l.channel_inventory_item_id,
    l.title,
    {{ money('l.price') }} as price,
    st.currency,
    l.listing_seen_at,
    true as is_listed,
    p.sku is not null as is_in_erp_catalogue
from listings as l
left join products as p on l.sku = p.sku
left join {{ ref('dim_stores') }} as st on l.store_id = st.store_id

union all

select
    u.store_id || ':unlisted:' || u.sku as listing_key,
    u.store_id,
    u.channel,
    u.sku,
    cast(null as {{ dbt.type_string() }}) as channel_product_id,
    cast(null as {{ dbt.type_string() }}) as channel_variant_id,
    cast(null as {{ dbt.type_string() }}) as channel_inventory_item_id,
    cast(null as {{ dbt.type_string() }}) as title,
    {{ money('null') }} as price,
    st.currency,
    cast(null as timestamp) as listing_seen_at,
    false as is_listed,
    true as is_in_erp_catalogue
from unlisted as u
left join {{ ref('dim_stores') }} as st on u.store_id = st.store_id
