-- One row per customer account a channel store keeps (Shopify, Magento, WooCommerce): who, where,
-- since when, and (Shopify) what the store itself counts of their orders and spend.
select
    c.customer_key as account_key,
    c.store_id,
    c.channel,
    c.channel_customer_id,
    c.email,
    c.first_name,
    c.last_name,
    c.country,
    c.created_at,
    c.updated_at,
    c.orders_count,
    {{ money('c.amount_spent') }} as amount_spent,
    c.currency,
    {{ money_at_rate('c.amount_spent', 'rates.rate_to_eur') }} as amount_spent_rc
from {{ ref('int_channel_customers') }} as c
left join {{ ref('int_currency_rates') }} as rates  -- a lifetime total: at the rate of the as-of day
    on {{ currency_rate_on('rates', 'c.currency', as_of()) }}
