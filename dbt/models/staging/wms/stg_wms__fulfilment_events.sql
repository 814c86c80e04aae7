-- Pick / pack / ship confirmations, one row per parcel and stage: a confirmation sent again (same
-- or corrected time) keeps its latest landed version.
{{ incremental_staging('fulfilment_event_key') }}
select
    _record_key as fulfilment_event_key,
    order_key,
    shipment_id,
    parcel_no,
    parcel_count,
    coalesce(warehouse_id, _store) as warehouse_id,
    stage,
    occurred_at,
    carrier,
    service,
    tracking_number,
    weight_kg,
    ship_to_country,
    _loaded_at
from ({{ latest_version_of_news(source('wms', 'wms__fulfilment_events'), dbt.concat(["shipment_id", "':'", "stage"]), '_loaded_at desc, occurred_at desc', where="stage in ('picked', 'packed', 'shipped')") }}) as latest
