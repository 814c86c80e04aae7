-- Every order tied to the person who placed it, across channels and stores.
--
-- Identity: the normalised email (trimmed, lower case) when the order has one; else the email
-- that store's channel customer id used on its other orders; else the channel customer id
-- itself (store:id); a guest order with neither stands alone (order:key). Guest checkouts with an
-- email join the account that uses the same email. Marketplaces that relay buyer emails (Amazon)
-- give one stable relay address per buyer and store, so those buyers are people of their own.
with orders as (
    select * from {{ ref('fct_orders') }}
),

account_emails as (
    -- the latest email each channel account used
    select store_id, channel_customer_id, customer_email
    from (
        select store_id, channel_customer_id, lower(trim(customer_email)) as customer_email,
               row_number() over (partition by store_id, channel_customer_id order by placed_at desc) as latest
        from orders
        where channel_customer_id is not null and nullif(trim(customer_email), '') is not null
    ) as ranked
    where latest = 1
),

order_costs as (
    select l.order_key, {{ sum_money('l.quantity * p.unit_cost') }} as cogs_rc, count(p.unit_cost) as costed_lines, count(*) as lines
    from {{ ref('fct_order_lines') }} as l
    left join {{ ref('stg_erp__products') }} as p
        on l.sku = p.sku
    group by l.order_key
),

identified as (
    select
        o.*,
        coalesce(
            nullif(lower(trim(o.customer_email)), ''),
            a.customer_email
        ) as person_email
    from orders as o
    left join account_emails as a
        on o.store_id = a.store_id and o.channel_customer_id = a.channel_customer_id
)

select
    i.order_key,
    {{ dbt.hash("case when i.person_email is not null then " ~ dbt.concat(["'email:'", "i.person_email"])
                ~ " when i.channel_customer_id is not null then " ~ dbt.concat(["'account:'", "i.store_id", "':'", "i.channel_customer_id"])
                ~ " else " ~ dbt.concat(["'order:'", "i.order_key"]) ~ " end") }} as customer_key,
    i.person_email as customer_email,
    case when i.person_email is not null then 'email'
         when i.channel_customer_id is not null then 'channel_account'
         else 'guest_order' end as identified_by,
    i.channel,
    i.store_id,
    i.channel_customer_id,
    i.placed_at,
    i.placed_date,
    -- canceled, or refunded before anything shipped (channels such as Magento and marketplace
    -- exports show an order canceled after payment as refunded or closed)
    coalesce(c.canceled_at is not null or (c.refunded_at is not null and c.shipped_at is null),
             i.canceled_at is not null) as is_canceled,
    i.net_sales_rc,
    -- revenue net of tax and shipping: net sales less the goods share of the refunds
    -- (fct_orders.refunded_goods_amount), both on the same basis
    {{ money_at_rate('i.refunded_goods_amount', 'i.fx_rate') }} as refunded_rc,
    {{ money('i.net_sales_rc - ' ~ money_at_rate('i.refunded_goods_amount', 'i.fx_rate')) }} as net_revenue_rc,
    -- goods refunded come back: the cost counts in the share of the order that was kept
    {{ money('round(coalesce(oc.cogs_rc, 0)
          * case when i.net_sales_rc > 0
                 then greatest(0, 1 - i.refunded_goods_amount * i.fx_rate / i.net_sales_rc) else 0 end, 2)') }} as cogs_rc,
    coalesce(oc.costed_lines = oc.lines, false) as is_fully_costed
from identified as i
left join order_costs as oc
    on i.order_key = oc.order_key
left join {{ ref('fct_order_cycle') }} as c
    on i.order_key = c.order_key
