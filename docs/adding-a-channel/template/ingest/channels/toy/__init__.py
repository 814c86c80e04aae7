"""Toy Shop, read through its REST API (``X-Toy-Token``): the orders changed since the store's
cursor, the products it lists (swept whole), and the stock each product shows (no locations)."""

from ingest.channels.contract import ChannelReading, Entity, Listing, Stock
from ingest.channels.toy import catalogue, orders

READING = ChannelReading(
    # landed into raw.toy__orders: the record's id field and its last-change field
    entities={"orders": Entity(orders.order_pages, id_field="id", updated_field="updated_at")},
    # raw.toy__products; a product whose only change is its stock does not land again
    catalogue={"products": Listing(catalogue.products, id_field="id", volatile=("stock",))},
    # raw.channels__inventory_levels
    stock=Stock(catalogue.product_stock, page_size=100),
)
