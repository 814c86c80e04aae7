-- B2B credit per customer (customer_ref is the customer's e-mail in the ERP), latest version.
select
    lower(trim(customer_ref)) as customer_email,
    segment,
    {{ money('credit_limit') }} as credit_limit,
    {{ money('open_balance') }} as open_balance,
    cast(updated_at as timestamp) as updated_at,
    _loaded_at
from ({{ latest_version(source('erp', 'erp__customer_credit'), 'customer_ref', 'cast(updated_at as timestamp) desc, _loaded_at desc') }}) as latest
