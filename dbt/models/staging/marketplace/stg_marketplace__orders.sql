-- Marketplace orders: the order's fields from its latest export, its amounts from its lines (an
-- order exported without item rows has amounts of 0), its refunds from the export's refund column
-- when it has one, else from the ERP's credit notes for the order.
{% set canceled = "('cancelled', 'canceled', 'cancelado')" %}
{% set pending = "('pending', 'pendiente')" %}
with exported as (
    select
        *,
        -- the export description's status groups; rows landed before they were recorded: the
        -- statuses every preset used
        coalesce(status_group, case when lower(status) in {{ canceled }} then 'canceled'
                                    when lower(status) in {{ pending }} then 'pending'
                                    else 'open' end) as status_kind,
        dense_rank() over (
            partition by _store, order_id
            order by updated_at desc, _loaded_at desc, source_file desc
        ) as version_rank
    from {{ source('marketplace', 'marketplace__order_lines') }}
),

first_seen_canceled as (
    -- the first export that showed the order canceled (later exports update updated_at, not this)
    select _store, order_id, min(updated_at) as canceled_at
    from exported
    where status_kind = 'canceled'
    group by _store, order_id
),

latest as (
    select
        _store,
        order_id,
        max(merchant_order_id) as merchant_order_id,
        max(buyer_email) as buyer_email,
        max(currency) as currency,
        min(placed_at) as placed_at,
        max(updated_at) as updated_at,
        max(status) as channel_status,
        max(status_kind) as status_kind,
        min(approved_at) as approved_at,
        min(shipped_at) as shipped_at,
        min(delivered_at) as delivered_at,
        max(estimated_delivery_at) as estimated_delivery_at,
        min(canceled_at) as canceled_at,
        max(refunded_amount) as refunded_amount,
        max(_loaded_at) as _loaded_at
    from exported
    where version_rank = 1
    group by _store, order_id
),

line_totals as (
    select
        order_key,
        sum(gross_amount) as gross_amount,
        sum(discount_amount) as discount_amount,
        sum(shipping_amount) as shipping_amount,
        sum(tax_amount) as tax_amount
    from {{ ref('stg_marketplace__order_lines') }}
    group by order_key
),

credit_notes as (
    select order_key, -sum(total_amount) as refunded_amount
    from {{ ref('stg_erp__invoices') }}
    where kind = 'credit_note'
    group by order_key
),

orders as (
    select
        o._store || ':' || o.order_id as order_key,
        o.*,
        c.canceled_at as first_seen_canceled_at,
        coalesce(t.gross_amount, 0) as gross_amount,
        coalesce(t.discount_amount, 0) as discount_amount,
        coalesce(t.shipping_amount, 0) as shipping_amount,
        coalesce(t.tax_amount, 0) as tax_amount
    from latest as o
    left join first_seen_canceled as c
        on o._store = c._store and o.order_id = c.order_id
    left join line_totals as t
        on o._store || ':' || o.order_id = t.order_key
)

select
    o.order_key,
    o._store as store_id,
    'marketplace' as channel,
    o.order_id as channel_order_id,
    o.merchant_order_id as order_number,
    o.buyer_email as customer_email,
    cast(null as {{ dbt.type_string() }}) as channel_customer_id,
    o.currency,
    o.placed_at,
    o.updated_at,
    -- the export's approval date; without one, marketplaces collect payment at checkout: an order
    -- neither pending nor canceled was paid when placed
    coalesce(o.approved_at, case when o.status_kind = 'open' then o.placed_at end) as paid_at,
    case when o.status_kind = 'canceled' then coalesce(o.canceled_at, o.first_seen_canceled_at) end as canceled_at,
    o.channel_status,
    o.shipped_at,
    o.delivered_at,
    o.estimated_delivery_at,
    {{ money('o.gross_amount') }} as gross_amount,
    {{ money('o.discount_amount') }} as discount_amount,
    {{ money('o.shipping_amount') }} as shipping_amount,
    {{ money('o.tax_amount') }} as tax_amount,
    {{ money('o.gross_amount - o.discount_amount + o.shipping_amount + o.tax_amount') }} as total_amount,
    {{ money('coalesce(o.refunded_amount, r.refunded_amount, 0)') }} as refunded_amount,
    o._loaded_at
from orders as o
left join credit_notes as r
    on o.order_key = r.order_key
