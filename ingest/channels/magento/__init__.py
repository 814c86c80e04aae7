"""Magento 2, read through its admin REST API: orders, credit memos and customers changed since the
store's cursor, the shipments afterclick's write-back created (read back with their tracks), the
products and stock sources it lists, and the stock it shows per source (MSI)."""

from ingest.channels.contract import ChannelReading, Entity, Listing, Stock
from ingest.channels.magento import catalogue, orders, stock

READING = ChannelReading(
    entities={
        "orders": Entity(orders.order_pages, "entity_id", "updated_at"),
        "creditmemos": Entity(orders.creditmemo_pages, "entity_id", "updated_at"),
        "customers": Entity(orders.customer_pages, "id", "updated_at"),
        "shipments": Entity(orders.shipment_pages, "entity_id", "updated_at", read_back=True),
    },
    catalogue={"products": Listing(catalogue.products, "id"), "locations": Listing(catalogue.sources, "source_code")},
    stock=Stock(stock.source_items, page_size=500),
)
