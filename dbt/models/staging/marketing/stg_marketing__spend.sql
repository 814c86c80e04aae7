-- Spend per day, store and campaign: the latest file's figure wins (platforms restate spend).
select
    {{ dbt.concat(["store_id", "':'", "campaign", "':'", dbt.cast("date", api.Column.translate_type("string"))]) }} as spend_key,
    date as spend_date,
    store_id,
    campaign,
    {{ money('spend') }} as spend,
    currency,
    clicks,
    impressions,
    _loaded_at
from ({{ latest_version(source('marketing', 'marketing__spend'), 'store_id, campaign, date', '_loaded_at desc, source_file desc') }}) as latest
