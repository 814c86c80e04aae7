-- The dated rates of the currency_rates seed as validity ranges: a rate holds from its rate_date
-- until the next rate of the same currency (valid_to, exclusive). An amount converts at the last
-- rate on or before its own date (macro currency_rate_on); the first rate of a currency also holds
-- for any earlier date, the last one for any later date. Plain range join: no ASOF JOIN, which
-- Spark lacks.
with rates as (
    select
        currency,
        cast(rate_date as date) as rate_date,
        cast(rate_to_eur as {{ rate_type() }}) as rate_to_eur,
        row_number() over (partition by currency order by rate_date) as rate_number,
        lead(cast(rate_date as date)) over (partition by currency order by rate_date) as next_rate_date
    from {{ ref('currency_rates') }}
)

select
    currency,
    rate_date,
    rate_to_eur,
    case when rate_number = 1 then cast('1900-01-01' as date) else rate_date end as valid_from,
    coalesce(next_rate_date, cast('9999-12-31' as date)) as valid_to
from rates
