"""WooCommerce, read through its REST API (wc/v3, HTTP Basic with the store's key and secret):
orders, refunds and customers changed since the store's cursor, the products it lists
(``GET /wp-json/wc/v3/products``, swept whole; their stock fields are followed by the stock sweep,
not compared), and the stock each product shows (WooCommerce has no locations)."""

from afterclick.channels.paging import woocommerce_products
from ingest.channels.contract import ChannelReading, Entity, Listing, Stock
from ingest.channels.woocommerce import orders, stock

READING = ChannelReading(
    entities={
        "orders": Entity(orders.order_pages, "id", "date_modified_gmt"),
        "refunds": Entity(orders.refund_pages, "id", "date_created_gmt"),
        "customers": Entity(orders.customer_pages, "id", "date_modified_gmt"),
    },
    catalogue={"products": Listing(woocommerce_products, "id", volatile=stock.STOCK_FIELDS)},
    stock=Stock(stock.product_stock, page_size=100),
)
