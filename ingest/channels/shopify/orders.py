"""Shopify's orders and customers changed since an instant: the Admin GraphQL connections sorted
by ``UPDATED_AT`` with an ``updated_at:>`` query, paged by their cursor. Orders nest what Shopify
nests in them: transactions, refunds, fulfillments and returns."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from afterclick.channels.http import ChannelClient, shopify_graphql
from ingest.channels.pages import Page

ORDERS_QUERY = """
query Orders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    edges { cursor node {
      id name createdAt updatedAt processedAt cancelledAt email currencyCode
      displayFinancialStatus displayFulfillmentStatus
      customer { id email }
      subtotalPriceSet { shopMoney { amount currencyCode } }
      totalDiscountsSet { shopMoney { amount currencyCode } }
      totalShippingPriceSet { shopMoney { amount currencyCode } }
      totalTaxSet { shopMoney { amount currencyCode } }
      totalPriceSet { shopMoney { amount currencyCode } }
      totalRefundedSet { shopMoney { amount currencyCode } }
      lineItems(first: 100) { nodes { id sku quantity
        originalUnitPriceSet { shopMoney { amount currencyCode } }
        totalDiscountSet { shopMoney { amount currencyCode } } } }
      transactions(first: 20) { id kind status gateway processedAt amountSet { shopMoney { amount currencyCode } } }
      refunds(first: 20) { id createdAt note totalRefundedSet { shopMoney { amount currencyCode } }
        refundLineItems(first: 100) { nodes { quantity lineItem { id sku } } } }
      fulfillments(first: 20) { id status createdAt trackingInfo(first: 10) { number company url } }
      returns(first: 10) { nodes { id name status totalQuantity
        returnLineItems(first: 100) { nodes { quantity returnReason returnReasonNote customerNote
          ... on ReturnLineItem { fulfillmentLineItem { lineItem { id sku } } } } } } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


CUSTOMERS_QUERY = """
query Customers($first: Int!, $after: String, $query: String) {
  customers(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    edges { cursor node {
      id email firstName lastName createdAt updatedAt numberOfOrders locale tags
      amountSpent { amount currencyCode }
      defaultAddress { countryCodeV2 }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def _connection(root: str, query: str):
    def pages(client: ChannelClient, since: datetime, page_size: int = 100) -> Iterator[Page]:
        after = None
        while True:
            variables = {"first": page_size, "after": after, "query": f"updated_at:>'{since.isoformat()}Z'"}
            connection = shopify_graphql(client, query, variables)[root]
            yield [edge["node"] for edge in connection["edges"]]
            if not connection["pageInfo"]["hasNextPage"]:
                return
            after = connection["pageInfo"]["endCursor"]

    return pages


order_pages = _connection("orders", ORDERS_QUERY)
customer_pages = _connection("customers", CUSTOMERS_QUERY)
