-- Customer messages due: shipping confirmation (with the tracking link), out for delivery,
-- delivered (with a request to rate the delivery) and return received. One message per order,
-- kind and parcel.
--
-- An event is due when it happened, or landed, in the last var notification_lookback_hours before
-- the as-of instant (a first run does not mail customers about old deliveries; an event a carrier's
-- weekly file brings late is still news; one landed after the as-of instant was not known then),
-- and happened at most AFTERCLICK_DBT_NOTIFICATION_MAX_AGE_HOURS
-- before it (settings writeback.notification_max_age_hours: older news is never sent, however late
-- it landed). The write-back ledger's key (writeback_key) sends each message once.
--
-- The merchant's own customers are messaged: orders of the API channels (var channels.api_channels).
-- A marketplace's buyers only when its settings allow it (marketplaces.<id>.messages.email_buyers,
-- AFTERCLICK_DBT_EMAILED_MARKETPLACES): marketplaces' rules forbid contacting their buyers outside
-- their own messaging.
{%- set max_age_minutes = (env_var('AFTERCLICK_DBT_NOTIFICATION_MAX_AGE_HOURS', '240') | float * 60) | int %}
{%- set emailed_marketplaces = env_var('AFTERCLICK_DBT_EMAILED_MARKETPLACES', '').split(',') | map('trim') | reject('equalto', '') | map('replace', "'", "''") | list %}
{%- set messaged_channels = var('channels')['api_channels'] %}
with parcels as (
    select s.*, o.customer_email, o.order_number, st.locale, st.store_name,
           c.carrier_name, replace(c.tracking_url_template, '{tracking_number}', s.tracking_number) as tracking_url
    from {{ ref('fct_shipments') }} as s
    inner join {{ ref('fct_orders') }} as o on s.order_key = o.order_key
    inner join {{ ref('dim_stores') }} as st on s.store_id = st.store_id
    left join {{ ref('carriers') }} as c on s.carrier = c.carrier
    -- the warehouse's parcels only: a parcel a marketplace export states is the marketplace's to announce
    where s.parcel_source = 'warehouse'
),

-- when each event landed: the parcel's tracking number, the carrier's first word of the status
landed as (
    select shipment_id, _loaded_at as shipped_landed_at from {{ ref('int_parcels') }}
),

tracking_landed as (
    select shipment_id,
           min(case when canonical_status = 'out_for_delivery' then _loaded_at end) as out_for_delivery_landed_at,
           min(case when canonical_status = 'delivered' then _loaded_at end) as delivered_landed_at
    from {{ ref('int_tracking_events') }}
    where shipment_id is not null
    group by shipment_id
),

events as (
    select p.order_key, p.shipment_id, 'shipping_confirmation' as kind, p.shipped_at as event_at,
           l.shipped_landed_at as landed_at
    from parcels as p
    left join landed as l on p.shipment_id = l.shipment_id
    where p.shipped_at is not null and p.tracking_number is not null
    union all
    select p.order_key, p.shipment_id, 'out_for_delivery', p.out_for_delivery_at, t.out_for_delivery_landed_at
    from parcels as p
    left join tracking_landed as t on p.shipment_id = t.shipment_id
    where p.out_for_delivery_at is not null
    union all
    select p.order_key, p.shipment_id, 'delivered', p.delivered_at, t.delivered_landed_at
    from parcels as p
    left join tracking_landed as t on p.shipment_id = t.shipment_id
    where p.delivered_at is not null
),

returns_landed as (
    select order_key, min(_loaded_at) as landed_at
    from {{ ref('stg_wms__returns_received') }}
    group by order_key
),

returns as (
    select r.order_key, cast(null as {{ dbt.type_string() }}) as shipment_id, 'return_received' as kind,
           min(r.received_at) as event_at, min(l.landed_at) as landed_at
    from {{ ref('fct_returns') }} as r
    left join returns_landed as l on r.order_key = l.order_key
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
    due.landed_at,
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
inner join {{ ref('dim_stores') }} as st on o.store_id = st.store_id
left join parcels as p on due.shipment_id = p.shipment_id
where o.customer_email is not null and o.customer_email like '%@%'
  and (o.channel in ({{ "'" ~ (messaged_channels | join("', '")) ~ "'" if messaged_channels else "''" }})
       {%- if emailed_marketplaces %}
       or o.store_id in ('{{ emailed_marketplaces | join("', '") }}')
       {%- endif %})
  and due.event_at <= {{ as_of() }}
  and due.event_at > {{ dbt.dateadd('minute', -1 * max_age_minutes, as_of()) }}
  and (due.event_at > {{ dbt.dateadd('hour', -1 * var('notification_lookback_hours'), as_of()) }}
       or (due.landed_at > {{ dbt.dateadd('hour', -1 * var('notification_lookback_hours'), as_of()) }}
           and due.landed_at <= {{ as_of() }}))
