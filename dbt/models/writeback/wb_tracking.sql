-- Per parcel shipped, of the orders with news in the last var writeback_lookback_days (the
-- window of wb_order_status, so an order marked delivered has its parcels' tracking there too):
-- tracking number, carrier and tracking URL to attach to the channel's fulfilment, shipment or
-- invoice of that parcel, and the parcel's lines (``lines``: ``sku:quantity`` pairs joined by
-- ``;``, in SKU order) so each parcel is fulfilled with what it holds, not the whole order.
with parcel_lines as (
    select
        shipment_id,
        {{ dbt.listagg(dbt.concat(["sku", "':'", dbt.cast("quantity", api.Column.translate_type("string"))]), "';'", "order by sku") }} as lines
    from {{ ref('int_parcel_lines') }}
    group by shipment_id
)

select
    {{ dbt.concat(["s.store_id", "':'", "s.shipment_id"]) }} as writeback_key,
    s.store_id,
    s.channel,
    s.order_key,
    o.channel_order_id,
    s.shipment_id,
    s.parcel_no,
    s.parcel_count,
    s.carrier,
    c.carrier_name,
    s.service,
    s.tracking_number,
    replace(c.tracking_url_template, '{tracking_number}', s.tracking_number) as tracking_url,
    s.shipped_at,
    pl.lines
from {{ ref('fct_shipments') }} as s
inner join {{ ref('fct_orders') }} as o on s.order_key = o.order_key
inner join {{ ref('fct_order_cycle') }} as oc on s.order_key = oc.order_key
inner join parcel_lines as pl on s.shipment_id = pl.shipment_id
left join {{ ref('carriers') }} as c on s.carrier = c.carrier
where {{ channel_in('s.channel', 'writeback_channels') }}
  and s.parcel_source = 'warehouse'  -- a parcel a marketplace export states was not shipped by the seller: nothing to attach
  and s.shipped_at is not null and s.tracking_number is not null
  and s.shipped_at <= {{ as_of() }}
  and oc.last_event_at > {{ dbt.dateadd('day', -1 * var('writeback_lookback_days'), as_of()) }}
  and oc.last_event_at <= {{ as_of() }}
