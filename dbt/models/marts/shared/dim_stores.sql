-- One row per store: every store configured in settings (channel_stores.<id>, marketplaces.<id>:
-- the var `stores`), and every store seen in the orders but configured nowhere, with the defaults
-- (var `store_defaults`), so that no store's history is dropped or fails a test for want of a
-- profile. A store's currency, unless configured, is the one most of its orders state.
{%- set defaults = var('store_defaults') %}
with configured as (
    {{ configured_stores() }}
),

order_currencies as (
    select store_id, channel, currency, count(*) as orders
    from {{ ref('int_orders_unioned') }}
    where store_id is not null
    group by store_id, channel, currency
),

ranked as (
    select
        store_id,
        channel,
        currency,
        row_number() over (
            partition by store_id
            order by case when currency is null then 1 else 0 end, orders desc, currency, channel
        ) as rank_in_store
    from order_currencies
),

seen as (
    select store_id, channel, currency
    from ranked
    where rank_in_store = 1
)

select
    coalesce(c.store_id, s.store_id) as store_id,
    coalesce(c.channel, s.channel) as channel,
    coalesce(c.store_name, c.store_id, s.store_id) as store_name,
    coalesce(c.currency, s.currency) as currency,
    coalesce(c.timezone, {{ var_literal(defaults.timezone, dbt.type_string()) }}) as timezone,
    c.country,
    coalesce(c.promised_days, {{ var_literal(defaults.promised_days, dbt.type_int()) }}) as promised_days,
    coalesce(c.locale, {{ var_literal(defaults.locale, dbt.type_string()) }}) as locale,
    c.store_id is not null as is_configured
from configured as c
full outer join seen as s
    on c.store_id = s.store_id
