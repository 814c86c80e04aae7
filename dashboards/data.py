"""Read-only access to the serving snapshot for the dashboards.

Each query opens a short-lived reader connection to ``serving.duckdb`` (``warehouse.connect_reader``:
read-only, no other file, the reader limits; so a publish, which renames a new file over it, is never
blocked) and runs through ``warehouse.run_read`` (reads only, within the reader time limit). Results
are cached under the snapshot's identity (inode + mtime): the next interaction after a publish sees
new data. Filter values reach SQL only as bound parameters.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from afterclick import warehouse
from afterclick.settings import load_settings


def serving_path() -> Path:
    return load_settings().serving_path


def snapshot_key() -> str | None:
    """Changes whenever a new snapshot is published (atomic rename = new inode)."""
    try:
        stat = os.stat(serving_path())
    except FileNotFoundError:
        return None
    return f"{stat.st_ino}:{stat.st_mtime_ns}"


@st.cache_data(show_spinner=False, max_entries=256)
def _query(sql: str, params: tuple, key: str) -> pd.DataFrame:
    settings = load_settings()
    with warehouse.connect_reader(settings) as con:
        return warehouse.run_read(
            con, sql, params, timeout=settings.reader.query_timeout_seconds, fetch=lambda result: result.df()
        )


def query(sql: str, params: tuple | list = ()) -> pd.DataFrame:
    key = snapshot_key()
    if key is None:
        raise FileNotFoundError("no serving snapshot published yet")
    return _query(sql, tuple(params), key)


def table_exists(name: str) -> bool:
    return bool(query("select count(*) as n from information_schema.tables where table_name = ?", (name,))["n"][0])


def snapshot_info() -> dict | None:
    if snapshot_key() is None:
        return None
    row = query("select version, published_at from _snapshot")
    return {"version": row["version"][0], "published_at": row["published_at"][0]}
