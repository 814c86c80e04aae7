-- One row per calendar day from var('calendar_start') to the as-of day: the spine daily
-- histories (stock levels) are built on.
with days as (
    {{ dbt.date_spine('day', "cast('" ~ var('calendar_start') ~ "' as date)",
                      dbt.dateadd('day', 1, 'cast(' ~ as_of() ~ ' as date)')) }}
)

select
    cast(date_day as date) as date_day,
    cast({{ dbt.date_trunc('week', 'date_day') }} as date) as week_start,
    cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
    cast({{ dbt.date_trunc('day', as_of()) }} as date) = cast(date_day as date) as is_as_of_day
from days
where cast(date_day as date) <= cast({{ as_of() }} as date)
