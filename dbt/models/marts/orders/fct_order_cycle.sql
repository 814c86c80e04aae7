-- One row per order: when each stage was first reached, the time between stages, where the order
-- is now, for how long, and whether it is stuck (no new event for longer than its stage's SLA).
--
-- The current stage follows the cycle order of the stages (seed order_stages), not the latest
-- timestamp, so a clock-skewed carrier event cannot move an order backwards. Parcel stages
-- (picked … delivered) count per parcel, and an order is as far as its slowest parcel: a split
-- order is delivered when its last parcel is.
{% set order_stages = ['placed', 'paid', 'invoiced', 'routed', 'return_requested', 'return_received',
                       'refunded', 'canceled', 'closed'] %}
{% set parcel_stages = ['picked', 'packed', 'shipped', 'in_transit', 'out_for_delivery'] %}
with events as (
    select e.*, s.stage_order,
           e.shipment_id is not null and e.stage in ('picked', 'packed', 'shipped', 'in_transit',
               'out_for_delivery', 'delivery_attempt_failed', 'delivered') as is_parcel_event
    from {{ ref('fct_order_events') }} as e
    inner join {{ ref('order_stages') }} as s on e.stage = s.stage
),

parcels as (
    select
        order_key,
        shipment_id,
        max(stage_order) as parcel_stage_order,
        max(parcel_count) as parcel_count,
        min(case when stage = 'delivered' then occurred_at end) as delivered_at
    from events
    where is_parcel_event
    group by order_key, shipment_id
),

order_progress as (
    -- The warehouse says how many parcels an order ships in ("1 of 2"); until every one of them
    -- has an event, the order is not further than its unseen parcels (not yet picked).
    select
        order_key,
        case when count(*) >= coalesce(max(parcel_count), 0) then min(parcel_stage_order) end
            as slowest_parcel_stage_order,
        case when count(delivered_at) = count(*) and count(*) >= coalesce(max(parcel_count), 0)
             then max(delivered_at) end as delivered_at,
        greatest(count(*), coalesce(max(parcel_count), 0)) as parcels
    from parcels
    group by order_key
),

firsts as (
    select
        order_key,
        {% for stage in order_stages + parcel_stages %}
        min(case when stage = '{{ stage }}' then occurred_at end) as {{ stage }}_at,
        {% endfor %}
        min(case when stage = 'delivery_attempt_failed' then occurred_at end) as first_attempt_failed_at,
        min(case when stage = 'delivered' then occurred_at end) as first_parcel_delivered_at,
        sum(case when stage = 'delivery_attempt_failed' then 1 else 0 end) as failed_attempts,
        max(case when not is_parcel_event and stage_order >= 12 then stage_order end) as after_delivery_stage_order,
        max(case when not is_parcel_event and stage_order < 12 then stage_order end) as before_fulfilment_stage_order,
        max(occurred_at) as last_event_at
    from events
    group by order_key
),

closing as (
    -- An order closes when refunded, or when its return window has passed after delivery with no
    -- return asked for (var return_window_days); a 'closed' event from any system wins.
    select
        f.order_key,
        coalesce(
            f.closed_at,
            case when f.refunded_at is not null then f.refunded_at end,
            case when p.delivered_at is not null and f.return_requested_at is null and f.return_received_at is null
                      and {{ dbt.dateadd('day', var('return_window_days'), 'p.delivered_at') }} <= {{ as_of() }}
                 then {{ dbt.dateadd('day', var('return_window_days'), 'p.delivered_at') }} end
        ) as closed_at
    from firsts as f
    left join order_progress as p on f.order_key = p.order_key
),

current_stage as (
    select
        f.order_key,
        c.closed_at,
        case when c.closed_at is not null then (select stage_order from {{ ref('order_stages') }} where stage = 'closed')
        else coalesce(
            f.after_delivery_stage_order,
            case when p.slowest_parcel_stage_order is not null
                      and p.slowest_parcel_stage_order > coalesce(f.before_fulfilment_stage_order, 0)
                 then p.slowest_parcel_stage_order else f.before_fulfilment_stage_order end
        ) end as current_stage_order
    from firsts as f
    inner join closing as c on f.order_key = c.order_key
    left join order_progress as p on f.order_key = p.order_key
),

cycle as (
    select
        o.order_key, o.channel, o.store_id, o.placed_date, o.promised_delivery_date, o.promised_delivery_by,
        f.placed_at, f.paid_at, f.invoiced_at, f.routed_at, f.picked_at, f.packed_at, f.shipped_at,
        f.in_transit_at, f.out_for_delivery_at, f.first_attempt_failed_at,
        -- the first delivery attempt: a failed one, or the first delivery when it succeeded first time
        coalesce(f.first_attempt_failed_at, f.first_parcel_delivered_at) as first_attempt_at,
        p.delivered_at, f.return_requested_at, f.return_received_at, f.refunded_at, f.canceled_at, cs.closed_at,
        coalesce(p.parcels, 0) as parcels,
        f.failed_attempts, f.last_event_at,
        s.stage as current_stage, {{ stage_sla_hours("s.stage", "s.sla_hours") }} as current_stage_sla_hours, s.system_responsible, s.is_terminal
    from {{ ref('fct_orders') }} as o
    inner join firsts as f on o.order_key = f.order_key
    inner join current_stage as cs on o.order_key = cs.order_key
    inner join {{ ref('order_stages') }} as s on cs.current_stage_order = s.stage_order
    left join order_progress as p on o.order_key = p.order_key
)

select
    cycle.*,
    {{ hours_between('placed_at', 'paid_at') }} as hours_placed_to_paid,
    {{ hours_between('paid_at', 'invoiced_at') }} as hours_paid_to_invoiced,
    {{ hours_between('paid_at', 'picked_at') }} as hours_paid_to_picked,
    {{ hours_between('picked_at', 'packed_at') }} as hours_picked_to_packed,
    {{ hours_between('packed_at', 'shipped_at') }} as hours_packed_to_shipped,
    {{ hours_between('placed_at', 'shipped_at') }} as hours_order_to_ship,
    {{ hours_between('shipped_at', 'delivered_at') }} as hours_in_transit,
    {{ hours_between('placed_at', 'delivered_at') }} as hours_click_to_door,
    {{ hours_between('last_event_at', as_of()) }} as hours_in_current_stage,
    case when not is_terminal and current_stage <> 'delivered'
              and {{ hours_between('last_event_at', as_of()) }} > current_stage_sla_hours
         then current_stage end as sla_breached_stage,
    coalesce(not is_terminal and current_stage <> 'delivered'
             and {{ hours_between('last_event_at', as_of()) }} > current_stage_sla_hours, false) as is_stuck,
    -- moved on without the warehouse's confirmations: the gap is flagged, not hidden
    (delivered_at is not null or shipped_at is not null) and (picked_at is null or packed_at is null)
        as has_fulfilment_gap,
    delivered_at is not null
        and delivered_at < promised_delivery_by as is_delivered_on_time
from cycle
