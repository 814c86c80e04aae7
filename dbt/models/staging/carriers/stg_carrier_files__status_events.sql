-- Carrier status files' events in the shape every tracking source shares (the first version landed of each).
{{ incremental_staging('tracking_event_key') }}
{% set event_key = dbt.hash(dbt.concat(["_store", "'|'", "tracking_number", "'|'", dbt.cast("occurred_at", api.Column.translate_type("string")), "'|'", "raw_status"])) %}
select
    _record_key as tracking_event_key,
    tracking_number,
    _store as carrier,
    occurred_at,
    raw_status,
    cast(null as {{ dbt.type_string() }}) as sub_status,
    nullif(trim(message), '') as message,
    nullif(trim(location), '') as location,
    'carrier_file' as tracking_source,
    _loaded_at
from ({{ latest_version_of_news(source('carrier_files', 'carrier_files__status_events'), event_key, '_loaded_at') }}) as latest
