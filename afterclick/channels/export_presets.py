"""Described exports by name (``marketplaces.<store>.export.preset``): the fields of an export
description (afterclick.channels.export_description) as the settings file would spell them."""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    # Amazon Seller Central's "All Orders" report: tab-separated, one row per line, ISO dates with
    # an offset, the line's total in item-price, promotion discounts negative.
    "amazon_all_orders": {
        "separator": "\t",
        "columns": {
            "order_id": "amazon-order-id",
            "merchant_order_id": "merchant-order-id",
            "placed_at": "purchase-date",
            "updated_at": "last-updated-date",
            "status": "order-status",
            "sku": "sku",
            "product_name": "product-name",
            "quantity": "quantity",
            "currency": "currency",
            "item_price": "item-price",
            "item_tax": "item-tax",
            "shipping_price": "shipping-price",
            "item_discount": "item-promotion-discount",
            "buyer_email": "buyer-email",
            "ship_country": "ship-country",
        },
        "date_formats": ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S"],
        "discounts_negative": True,
    },
    # Miravia's orders CSV: semicolons, one row per line, day-first dates, the unit price.
    "miravia_orders": {
        "separator": ";",
        "decimal": ",",
        "columns": {
            "order_id": "Número de pedido",
            "placed_at": "Fecha de creación",
            "updated_at": "Fecha de actualización",
            "status": "Estado",
            "sku": "SKU del vendedor",
            "product_name": "Nombre del producto",
            "quantity": "Cantidad",
            "item_price": "Precio unitario",
            "item_discount": "Descuento",
            "shipping_price": "Gastos de envío",
            "item_tax": "Impuestos",
            "currency": "Moneda",
            "buyer_email": "Email del comprador",
            "ship_country": "País",
        },
        "date_formats": ["%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S"],
        "item_price": "unit_price",
    },
}
