"""The one HTTP mechanism every channel connector uses.

Requests paced per store (``requests_per_second``: at most one request per 1/rate seconds, the
shape of the per-second limits the REST channels enforce); timeouts on every call; bounded retries with exponential backoff on timeouts, connection
errors, 429 (honouring Retry-After) and 5xx; a body that is not JSON is retried too (a
truncated page) and then reported as bad data. Only the store id and the URL path are
ever logged: credentials travel in headers built from SecretStr values.
"""

from __future__ import annotations

import logging
import math
import time

import httpx
import orjson
from pyrate_limiter import Limiter, Rate
from tenacity import (RetryCallState, Retrying, retry_if_exception, stop_after_attempt,
                      wait_exponential_jitter)

from ingest.errors import BadSourceData, TransientSourceError

log = logging.getLogger("afterclick.ingest.http")


class _RetryAfter(Exception):
    def __init__(self, response: httpx.Response):
        self.response = response
        try:
            self.seconds = min(float(response.headers.get("retry-after", "1")), 60.0)
        except ValueError:
            self.seconds = 1.0


class _Malformed(Exception):
    def __init__(self, message: str, body: str):
        super().__init__(message)
        self.body = body


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, (httpx.TransportError, _RetryAfter, _Malformed))


_BACKOFF = wait_exponential_jitter(multiplier=0.2, max=10)


def _wait(state: RetryCallState) -> float:
    """429: as long as the API's Retry-After says; otherwise exponential backoff with jitter."""
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, _RetryAfter) and exc.response.status_code == 429:
        return exc.seconds
    return _BACKOFF(state)


class ChannelClient:
    def __init__(self, store_id: str, base_url: str, headers: dict[str, str] | None = None,
                 auth: httpx.Auth | None = None, timeout: float = 30.0, attempts: int = 6,
                 requests_per_second: float = 0.0):
        self.store_id, self.attempts = store_id, attempts
        self.http = httpx.Client(base_url=base_url, headers=headers or {}, auth=auth, timeout=timeout)
        self.limiter = (Limiter(Rate(1, max(1, math.ceil(1000 / requests_per_second))), buffer_ms=1)
                        if requests_per_second else None)
        self.shopify_budget: dict | None = None  # the last cost throttle status Shopify reported

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs) -> tuple[httpx.Response, object]:
        """The response and its parsed JSON body; raises TransientSourceError / BadSourceData."""
        def once():
            if self.limiter is not None:
                self.limiter.try_acquire(self.store_id)
            response = self.http.request(method, path, **kwargs)
            if response.status_code == 429 or response.status_code >= 500:
                raise _RetryAfter(response)
            if response.status_code in (401, 403):
                raise PermissionError(f"{self.store_id}: {method} {path} was refused ({response.status_code}): "
                                      "check the store's credentials")
            response.raise_for_status()
            try:
                return response, orjson.loads(response.content)
            except orjson.JSONDecodeError as exc:
                raise _Malformed(f"{path}: body is not valid JSON ({exc.msg} at {exc.pos})",
                                 response.text[:2000]) from exc

        retrying = Retrying(stop=stop_after_attempt(self.attempts), wait=_wait, retry=retry_if_exception(_transient),
                            reraise=True, before_sleep=lambda s: log.warning(
                                "%s: %s %s failed (%s), retrying", self.store_id, method, path,
                                type(s.outcome.exception()).__name__))
        try:
            return retrying(once)
        except _Malformed as exc:
            raise BadSourceData(f"{self.store_id}: {exc} after {self.attempts} attempts", exc.body) from None
        except _RetryAfter as exc:
            raise TransientSourceError(f"{self.store_id}: {method} {path} kept answering "
                                       f"{exc.response.status_code} after {self.attempts} attempts") from None
        except httpx.TransportError as exc:
            raise TransientSourceError(f"{self.store_id}: {method} {path}: {type(exc).__name__}") from None


SHOPIFY_GRAPHQL = "/admin/api/2025-01/graphql.json"


def shopify_graphql(client: ChannelClient, query: str, variables: dict) -> dict:
    """One Shopify GraphQL operation's ``data``. THROTTLED is not a failure: wait for the cost
    bucket to refill what the operation needs (from ``extensions.cost``), then ask again.
    Validation errors raise ValueError with Shopify's messages. Before sending, it waits when the
    bucket Shopify last reported cannot pay for what the previous operation cost, so a busy client
    paces itself instead of collecting THROTTLED answers."""
    while True:
        _pace_shopify(client)
        _, body = client.request("POST", SHOPIFY_GRAPHQL, json={"query": query, "variables": variables})
        cost = (body.get("extensions") or {}).get("cost", {})
        throttle = cost.get("throttleStatus", {})
        if throttle:
            client.shopify_budget = {**throttle, "cost": cost.get("requestedQueryCost", 0), "at": time.monotonic()}
        if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in body.get("errors") or []):
            needed = body["extensions"]["cost"]["requestedQueryCost"] - throttle.get("currentlyAvailable", 0)
            time.sleep(max(needed, 1) / max(throttle.get("restoreRate", 50), 1))
            continue
        if body.get("errors"):
            raise ValueError(f"{client.store_id}: GraphQL errors: {[e.get('message') for e in body['errors']]}")
        return body["data"]


def _pace_shopify(client: ChannelClient) -> None:
    budget = client.shopify_budget
    if not budget or not budget.get("restoreRate"):
        return
    refilled = budget["currentlyAvailable"] + (time.monotonic() - budget["at"]) * budget["restoreRate"]
    if refilled < budget["cost"]:
        time.sleep((budget["cost"] - refilled) / budget["restoreRate"])
