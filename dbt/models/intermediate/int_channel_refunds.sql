-- Every channel's refunds (Magento: credit memos; VTEX: return invoices and payments given back on
-- cancellation), with the amount in the reporting currency.
{{ union_staging_with_amount_rc(channel_staging_models('refunds'),
    ['refund_key', 'order_key', 'store_id', 'channel', 'refunded_at', 'amount', 'currency', 'reason', 'goods_amount'], 'refunded_at') }}
