-- How many orders are in each stage now, and how many of those are stuck.
select
    c.current_stage,
    s.stage_order,
    c.channel,
    count(*) as orders,
    sum(case when c.is_stuck then 1 else 0 end) as stuck_orders
from {{ ref('fct_order_cycle') }} as c
inner join {{ ref('order_stages') }} as s on c.current_stage = s.stage
group by c.current_stage, s.stage_order, c.channel
