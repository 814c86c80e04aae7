-- The tracking number the carrier's label tool gave each parcel (reference = our shipment_id).
select
    _store || ':' || reference as label_key,
    _store as carrier,
    reference as shipment_id,
    tracking_number,
    labelled_at,
    _loaded_at
from ({{ latest_version(source('carrier_files', 'carrier_files__labels'), '_store, reference', '_loaded_at desc') }}) as latest
