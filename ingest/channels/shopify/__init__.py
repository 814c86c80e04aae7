"""Shopify, read through its Admin GraphQL API: orders and customers changed since the store's
cursor, the product variants and locations it lists, and the stock it shows per location."""

from ingest.channels.contract import ChannelReading, Entity, Listing, Stock
from ingest.channels.shopify import catalogue, orders, stock

READING = ChannelReading(
    entities={
        "orders": Entity(orders.order_pages, "id", "updatedAt"),
        "customers": Entity(orders.customer_pages, "id", "updatedAt"),
    },
    catalogue={"products": Listing(catalogue.variants, "id"), "locations": Listing(catalogue.locations, "id")},
    stock=Stock(stock.levels, page_size=250),
)
