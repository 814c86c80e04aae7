-- The latest status the tracking service reported per tracking number.
select
    tracking_number,
    carrier,
    latest_status,
    latest_sub_status,
    polled_at,
    _loaded_at
from ({{ latest_version(source('tracking_api', 'tracking_api__trackings'), 'tracking_number', 'polled_at desc, _loaded_at desc') }}) as latest
