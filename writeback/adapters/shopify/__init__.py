"""What afterclick writes to Shopify, through the Admin GraphQL API (paced by its cost bucket):
stock (``inventorySetQuantities``), prices (``productVariantsBulkUpdate``), tracking
(fulfillments) and status (tags, ``orderClose``, ``orderCancel``)."""

from writeback.adapters.shopify.orders import ShopifyStatus, ShopifyTracking
from writeback.adapters.shopify.prices import ShopifyPrices
from writeback.adapters.shopify.stock import ShopifyStock

ADAPTERS = {"stock": ShopifyStock, "prices": ShopifyPrices, "tracking": ShopifyTracking, "status": ShopifyStatus}
