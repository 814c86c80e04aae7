-- Tracking API events in the shape every tracking source shares.
select
    {{ dbt.hash(dbt.concat(["carrier", "'|'", "tracking_number", "'|'", dbt.cast("occurred_at", api.Column.translate_type("string")), "'|'", "raw_status"])) }}
        as tracking_event_key,
    tracking_number,
    carrier,
    occurred_at,
    raw_status,
    nullif(sub_status, '') as sub_status,
    nullif(trim(message), '') as message,
    nullif(trim(location), '') as location,
    'tracking_api' as tracking_source,
    _loaded_at
from ({{ latest_version(source('tracking_api', 'tracking_api__events'), 'carrier, tracking_number, occurred_at, raw_status', '_loaded_at') }}) as latest
