"""VTEX, read through its OMS, logistics and catalogue APIs: orders (by creation-date windows,
plus its orders feed or a daily re-list; store settings ``vtex_feed`` and ``vtex_relist_days``),
its warehouses, and the stock it shows per warehouse, asked SKU by SKU of the ERP catalogue."""

from ingest.channels.contract import ChannelReading, Entity, Listing, Stock
from ingest.channels.vtex import catalogue, orders, stock

READING = ChannelReading(
    entities={"orders": Entity(orders.order_pages, "orderId", "lastChange")},
    catalogue={"locations": Listing(catalogue.warehouses, "id")},
    stock=Stock(stock.levels, page_size=0, needs_skus=True, sku_id_field="skuId"),
)
