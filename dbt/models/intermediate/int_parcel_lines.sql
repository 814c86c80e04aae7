-- What each parcel holds: one row per parcel and SKU, from the warehouse's stock movements (a
-- shipment movement names its parcel: reference = shipment_id). A parcel's lines are what a
-- channel's fulfilment, shipment or invoice of that parcel lists.
select
    {{ dbt.concat(["m.reference", "':'", "m.sku"]) }} as parcel_line_key,
    m.reference as shipment_id,
    p.order_key,
    m.sku,
    sum(abs(m.signed_quantity)) as quantity
from {{ ref('stg_wms__stock_movements') }} as m
inner join {{ ref('int_parcels') }} as p
    on m.reference = p.shipment_id
where m.movement = 'shipment' and m.sku is not null
group by m.reference, p.order_key, m.sku
