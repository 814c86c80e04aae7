-- Tracking API events in the shape every tracking source shares (the first version landed of each).
{{ incremental_staging('tracking_event_key') }}
{% set event_key = dbt.hash(dbt.concat(["carrier", "'|'", "tracking_number", "'|'", dbt.cast("occurred_at", api.Column.translate_type("string")), "'|'", "raw_status"])) %}
select
    _record_key as tracking_event_key,
    tracking_number,
    carrier,
    occurred_at,
    raw_status,
    nullif(sub_status, '') as sub_status,
    nullif(trim(message), '') as message,
    nullif(trim(location), '') as location,
    'tracking_api' as tracking_source,
    _loaded_at
from ({{ latest_version_of_news(source('tracking_api', 'tracking_api__events'), event_key, '_loaded_at') }}) as latest
