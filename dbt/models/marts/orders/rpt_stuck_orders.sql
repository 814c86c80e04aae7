-- Orders that have sat in their stage longer than its SLA: which, where, for how long, whose move.
select
    order_key,
    channel,
    store_id,
    current_stage as stage,
    system_responsible,
    last_event_at as in_stage_since,
    round(hours_in_current_stage, 1) as hours_stuck,
    current_stage_sla_hours as sla_hours,
    placed_at
from {{ ref('fct_order_cycle') }}
where is_stuck
