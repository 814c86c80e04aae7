"""Every HTTP request a process sends, recorded where it leaves the HTTP client (urllib3's
connection pool): method, URL, headers and body, whatever code built it."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import urllib3.connectionpool


@dataclass(frozen=True)
class Request:
    host: str  # host:port it was sent to
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str]  # lower-cased names
    body: object  # the parsed JSON body (None: none)


class Capture:
    """Record the requests sent while installed (``install(monkeypatch)``); the request is then sent
    as it was."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._lock = threading.Lock()

    def install(self, monkeypatch) -> Capture:
        original = urllib3.connectionpool.HTTPConnectionPool.urlopen
        capture = self

        def urlopen(pool, method, url, body=None, headers=None, **kw):
            parts = urlsplit(url)
            raw = body.decode() if isinstance(body, bytes) else body
            request = Request(
                f"{pool.host}:{pool.port}",
                method.upper(),
                parts.path,
                tuple(parse_qsl(parts.query, keep_blank_values=True)),
                {k.lower(): v for k, v in (headers or {}).items()},
                json.loads(raw) if raw else None,
            )
            with capture._lock:
                capture.requests.append(request)
            return original(pool, method, url, body=body, headers=headers, **kw)

        monkeypatch.setattr(urllib3.connectionpool.HTTPConnectionPool, "urlopen", urlopen)
        return self
