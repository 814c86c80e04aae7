-- Customer messages due: shipping confirmation (with the tracking link), out for delivery,
-- delivered (with a request to rate the delivery) and return received, for events of the last
-- var notification_lookback_hours before the as-of instant (a first run does not mail customers
-- about old deliveries). One message per order, kind and parcel.
with parcels as (
    select s.*, o.customer_email, o.order_number, st.locale, st.store_name,
           c.carrier_name, replace(c.tracking_url_template, '{tracking_number}', s.tracking_number) as tracking_url
    from {{ ref('fct_shipments') }} as s
    inner join {{ ref('fct_orders') }} as o on s.order_key = o.order_key
    inner join {{ ref('stores') }} as st on s.store_id = st.store_id
    left join {{ ref('carriers') }} as c on s.carrier = c.carrier
),

events as (
    select order_key, shipment_id, 'shipping_confirmation' as kind, shipped_at as event_at from parcels
    where shipped_at is not null and tracking_number is not null
    union all
    select order_key, shipment_id, 'out_for_delivery', out_for_delivery_at from parcels where out_for_delivery_at is not null
    union all
    select order_key, shipment_id, 'delivered', delivered_at from parcels where delivered_at is not null
),

returns as (
    select r.order_key, cast(null as {{ dbt.type_string() }}) as shipment_id, 'return_received' as kind,
           min(r.received_at) as event_at
    from {{ ref('fct_returns') }} as r
    group by r.order_key
),

due as (
    select * from events
    union all
    select * from returns
)

select
    {{ dbt.concat(["due.kind", "':'", "due.order_key", "':'", "coalesce(due.shipment_id, '')"]) }} as writeback_key,
    due.kind,
    due.order_key,
    due.shipment_id,
    due.event_at,
    o.store_id,
    o.channel,
    o.customer_email,
    coalesce(o.order_number, o.channel_order_id) as order_number,
    st.locale,
    st.store_name,
    p.carrier_name,
    p.tracking_number,
    p.tracking_url
from due
inner join {{ ref('fct_orders') }} as o on due.order_key = o.order_key
inner join {{ ref('stores') }} as st on o.store_id = st.store_id
left join parcels as p on due.shipment_id = p.shipment_id
where o.customer_email is not null and o.customer_email like '%@%'
  and due.event_at > {{ dbt.dateadd('hour', -1 * var('notification_lookback_hours'), as_of()) }}
  and due.event_at <= {{ as_of() }}
