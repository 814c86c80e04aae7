-- Every channel's payments (Shopify also lists its refund transactions: kind = 'refund'), with the
-- amount in the reporting currency.
{{ union_staging_with_amount_rc(channel_staging_models('payments'),
    ['payment_key', 'order_key', 'store_id', 'channel', 'kind', 'status', 'payment_method', 'amount', 'currency',
     'processed_at'], 'processed_at') }}
