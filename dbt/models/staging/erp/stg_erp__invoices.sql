-- Invoices and credit notes, latest version of each document, amounts signed (credit notes < 0).
select
    invoice_id,
    invoice_number,
    order_ref as order_key,
    store_id,
    kind,
    cast(issued_at as timestamp) as issued_at,
    {{ money('net') }} as net_amount,
    {{ money('tax') }} as tax_amount,
    {{ money('total') }} as total_amount,
    currency,
    cast(updated_at as timestamp) as updated_at,
    _loaded_at
from ({{ latest_version(source('erp', 'erp__invoices'), 'invoice_id', 'cast(updated_at as timestamp) desc, _loaded_at desc') }}) as latest
