"""What afterclick writes to WooCommerce: stock and prices (product fields through
``products/batch``), tracking (a private order note) and status (the order's status)."""

from writeback.adapters.woocommerce.orders import WooCommerceStatus, WooCommerceTracking
from writeback.adapters.woocommerce.products import WooCommercePrices, WooCommerceStock

ADAPTERS = {
    "stock": WooCommerceStock,
    "prices": WooCommercePrices,
    "tracking": WooCommerceTracking,
    "status": WooCommerceStatus,
}
