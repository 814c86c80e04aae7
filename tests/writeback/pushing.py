"""Helpers of the write-back tests: push through the real engine and adapters to the emulators."""

from __future__ import annotations

from datetime import datetime

from pydantic import SecretStr

from afterclick import warehouse
from afterclick.demo.catalog import STORE_BY_ID
from ingest.channels.connector import ChannelStore
from writeback import engine
from writeback.run import adapter_factory

NOW = datetime(2026, 11, 1, 1, 0)


def stores(endpoints, requests_per_second: float = 0.0) -> dict[str, ChannelStore]:
    return {sid: ChannelStore(sid, STORE_BY_ID[sid].channel, url, {k: SecretStr(v) for k, v in state.credentials.items()},
                              requests_per_second)
            for sid, (url, state) in endpoints.items()}


def push(settings, endpoints, kinds=("stock",), smtp=None, requests_per_second: float = 0.0,
         **kw) -> engine.PushReport:
    con = warehouse.connect(settings)
    try:
        return engine.push(con, adapter_factory(stores(endpoints, requests_per_second), smtp, 10.0), list(kinds), NOW,
                           backoff_seconds=0.0, **kw)
    finally:
        con.close()


def ledger(settings, sql: str) -> list:
    with warehouse.connect_read_only(settings.warehouse_path) as con:
        return con.sql(sql).fetchall()
