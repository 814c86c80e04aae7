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
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import orjson
import urllib3
from pyrate_limiter import Limiter, Rate
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter
from urllib3.exceptions import HTTPError as TransportError

from afterclick.errors import BadSourceData, ChannelQueryError, ChannelRefused, TransientSourceError

log = logging.getLogger("afterclick.ingest.http")


@dataclass(frozen=True)
class Response:
    """What a store answered: status, headers (case-insensitive) and body."""

    status_code: int
    headers: urllib3.HTTPHeaderDict
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")


class HTTPStatusError(Exception):
    """The store refused the request (a 4xx other than 401, 403 and 429: those are retried or
    reported as credentials). ``response`` is its answer."""

    def __init__(self, store_id: str, method: str, path: str, response: Response):
        super().__init__(f"{store_id}: {method} {path} answered {response.status_code}")
        self.response = response


class _RetryAfter(Exception):
    def __init__(self, response: Response):
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
    return isinstance(exc, (TransportError, _RetryAfter, _Malformed))


_BACKOFF = wait_exponential_jitter(multiplier=0.2, max=10)


def _wait(state: RetryCallState) -> float:
    """429: as long as the API's Retry-After says; otherwise exponential backoff with jitter."""
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, _RetryAfter) and exc.response.status_code == 429:
        return exc.seconds
    return _BACKOFF(state)


class ChannelClient:
    """One store's HTTP connection pool (urllib3: at a bulk read's thousands of small requests it
    costs half the client CPU per request that httpx did, measured on loopback), with the pacing,
    retries and errors above. ``basic_auth``: (user, password) for HTTP Basic (WooCommerce keys)."""

    def __init__(
        self,
        store_id: str,
        base_url: str,
        headers: dict[str, str] | None = None,
        basic_auth: tuple[str, str] | None = None,
        timeout: float = 30.0,
        attempts: int = 6,
        requests_per_second: float = 0.0,
        connections: int = 8,
    ):
        self.store_id, self.attempts = store_id, attempts
        self._prefix = urlsplit(base_url).path.rstrip("/")
        self._headers = {
            "Accept": "application/json",  # every channel API answers JSON (VTEX's specs require the header)
            **(headers or {}),
            **urllib3.make_headers(
                basic_auth=":".join(basic_auth) if basic_auth else None, keep_alive=True, accept_encoding=True
            ),
        }
        self.http = urllib3.connection_from_url(
            base_url,
            maxsize=connections,
            block=False,
            retries=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
        )
        self.limiter = (
            Limiter(Rate(1, max(1, math.ceil(1000 / requests_per_second))), buffer_ms=1)
            if requests_per_second
            else None
        )
        self.shopify_budget: dict | None = None  # the last cost throttle status Shopify reported

    def close(self) -> None:
        self.http.close()

    def _send(self, method: str, path: str, params: dict | None, json) -> Response:
        url = self._prefix + path + (f"?{urlencode(params, doseq=True, quote_via=quote)}" if params else "")
        headers, body = self._headers, None
        if json is not None:
            headers, body = {**headers, "Content-Type": "application/json"}, orjson.dumps(json)
        answer = self.http.urlopen(method, url, body=body, headers=headers, redirect=False, preload_content=True)
        return Response(answer.status, answer.headers, answer.data)

    def request(self, method: str, path: str, params: dict | None = None, json=None) -> tuple[Response, Any]:
        """The response and its parsed JSON body; raises TransientSourceError / BadSourceData, or
        HTTPStatusError when the store refuses the request."""

        def once():
            if self.limiter is not None:
                self.limiter.try_acquire(self.store_id)
            response = self._send(method, path, params, json)
            if response.status_code == 429 or response.status_code >= 500:
                raise _RetryAfter(response)
            if response.status_code in (401, 403):
                raise ChannelRefused(
                    f"{self.store_id}: {method} {path} was refused ({response.status_code}): "
                    "check the store's credentials"
                )
            if not 200 <= response.status_code < 300:
                raise HTTPStatusError(self.store_id, method, path, response)
            try:
                if method != "GET" and not response.content.strip():
                    return response, None  # a write answered with no body (VTEX's feed commit: 200 OK)
                return response, orjson.loads(response.content)
            except orjson.JSONDecodeError as exc:
                raise _Malformed(
                    f"{path}: body is not valid JSON ({exc.msg} at {exc.pos})", response.text[:2000]
                ) from exc

        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=_wait,
            retry=retry_if_exception(_transient),
            reraise=True,
            before_sleep=lambda s: log.warning(
                "%s: %s %s failed (%s), retrying",
                self.store_id,
                method,
                path,
                type(s.outcome.exception()).__name__ if s.outcome else "no outcome",
            ),
        )
        try:
            return retrying(once)
        except _Malformed as exc:
            raise BadSourceData(f"{self.store_id}: {exc} after {self.attempts} attempts", exc.body) from None
        except _RetryAfter as exc:
            raise TransientSourceError(
                f"{self.store_id}: {method} {path} kept answering "
                f"{exc.response.status_code} after {self.attempts} attempts"
            ) from None
        except TransportError as exc:
            raise TransientSourceError(f"{self.store_id}: {method} {path}: {type(exc).__name__}") from None

    def get_or_none(self, path: str, params: dict | None = None):
        """The answer to ``GET path``; None when the store answers 404 (nothing there)."""
        try:
            return self.request("GET", path, params)[1]
        except HTTPStatusError as exc:
            if exc.response.status_code == 404:
                return None
            raise


SHOPIFY_GRAPHQL = "/admin/api/2025-01/graphql.json"


def shopify_graphql(client: ChannelClient, query: str, variables: dict) -> dict:
    """One Shopify GraphQL operation's ``data``. THROTTLED is not a failure: wait for the cost
    bucket to refill what the operation needs (from ``extensions.cost``), then ask again.
    Errors raise ChannelQueryError naming the store, the operation and Shopify's messages. Before
    sending, it waits when the bucket Shopify last reported cannot pay for what the previous
    operation cost, so a busy client paces itself instead of collecting THROTTLED answers."""
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
            raise ChannelQueryError(
                client.store_id,
                f"Shopify GraphQL {graphql_operation(query)}",
                [str(e.get("message")) for e in body["errors"]],
            )
        return body["data"]


def graphql_operation(document: str) -> str:
    """What a GraphQL document does, for messages: its first operation's type and name
    (``query Orders``), or for an unnamed one its first root field (``mutation orderUpdate``)."""
    text = re.sub(r"#[^\n]*", "", document)
    head = re.match(r"\s*(query|mutation|subscription)\b\s*([_A-Za-z]\w*)?", text)
    kind, name = (head.group(1), head.group(2)) if head else ("query", None)
    if name is None:  # the root field, after an alias if any (``f0: orderUpdate(...)``)
        root = re.search(r"\{\s*(?:[_A-Za-z]\w*\s*:\s*)?([_A-Za-z]\w*)", text)
        name = root.group(1) if root else "(unnamed)"
    return f"{kind} {name}"


def _pace_shopify(client: ChannelClient) -> None:
    budget = client.shopify_budget
    if not budget or not budget.get("restoreRate"):
        return
    refilled = budget["currentlyAvailable"] + (time.monotonic() - budget["at"]) * budget["restoreRate"]
    if refilled < budget["cost"]:
        time.sleep((budget["cost"] - refilled) / budget["restoreRate"])
