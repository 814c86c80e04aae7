"""Customers as the demo world's truth knows them, for the tests that recompute the customer marts
independently of the models: persons and their cohorts."""

from __future__ import annotations

import polars as pl


def persons(world) -> pl.DataFrame:
    """Counted orders (not canceled) with their person (email; Amazon relays one address per buyer)
    and the month placed."""
    return world.orders.filter(pl.col("canceled_at").is_null()).with_columns(
        person=pl.when(pl.col("store_id") == "amazon-es")
        .then(pl.format("{}@marketplace.amazon.es", pl.col("customer_id").str.to_lowercase()))
        .otherwise(pl.col("email").str.to_lowercase()),
        month=pl.col("placed_at").dt.truncate("1mo").cast(pl.Date),
    )


def cohort_cells(world) -> pl.DataFrame:
    """Per first-order month and months since: the cohort's size, its active customers and their orders."""
    orders = persons(world)
    cohort = orders.group_by("person").agg(pl.col("month").min().alias("cohort_month"))
    sizes = cohort.group_by("cohort_month").agg(pl.len().alias("cohort_size"))
    active = (
        orders.join(cohort, on="person")
        .with_columns(
            months_since_first=(pl.col("month").dt.year() - pl.col("cohort_month").dt.year()) * 12
            + pl.col("month").dt.month()
            - pl.col("cohort_month").dt.month()
        )
        .group_by("cohort_month", "months_since_first")
        .agg(pl.col("person").n_unique().alias("active_customers"), pl.len().alias("orders"))
    )
    return active.join(sizes, on="cohort_month").with_columns(pl.col("months_since_first").cast(pl.Int64))
