"""The emulators page a store's orders by a binary search on the sorted frame, not a filter of
the whole frame per page: the same rows as the filter, ties on the timestamp included."""

import random
from datetime import datetime, timedelta

import polars as pl
import pytest

from demo.emulators.base import rows_after


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    rng = random.Random(7)
    t0 = datetime(2026, 1, 1)
    rows = [(t0 + timedelta(minutes=rng.randrange(40)), f"o{rng.randrange(10_000):05d}") for _ in range(400)]
    return (
        pl.DataFrame(rows, schema={"updated": pl.Datetime("us"), "key": pl.String}, orient="row")
        .unique()
        .sort("updated", "key")
    )


def test_rows_after_a_timestamp_are_the_filtered_rows(frame):
    t0 = datetime(2026, 1, 1)
    for minute in range(-1, 42):
        ts = t0 + timedelta(minutes=minute)
        assert rows_after(frame, "updated", ts).equals(frame.filter(pl.col("updated") > ts))
        assert rows_after(frame, "updated", ts, inclusive=True).equals(frame.filter(pl.col("updated") >= ts))


def test_rows_after_a_cursor_within_ties_are_the_filtered_rows(frame):
    tied = frame.group_by("updated").len().filter(pl.col("len") > 2)["updated"].to_list()
    assert tied  # the frame has timestamps shared by several rows
    for ts in tied[:10]:
        keys = frame.filter(pl.col("updated") == ts)["key"].to_list()
        for last in [keys[0], keys[1], keys[-1], "o00000", "o99999", keys[1] + "x"]:
            naive = frame.filter((pl.col("updated") > ts) | ((pl.col("updated") == ts) & (pl.col("key") > last)))
            assert rows_after(frame, "updated", ts, key="key", key_after=last).equals(naive), (ts, last)
