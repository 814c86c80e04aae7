"""Incremental builds equal a build from scratch when records arrive late, corrected, twice or
not at all (tests/dbt/histories.py lands them through the landing and compares every staging,
intermediate, mart and write-back relation with a --full-refresh build of the same raw data).

``test_generated_histories``: a property test (hypothesis) drawing which versions land, in which
order, how often, in how many batches. In ``make test`` it runs a few examples (derandomized, so CI
always draws the same ones); ``INCREMENTAL_PROPERTY_EXAMPLES=50 .venv/bin/pytest -n 0
tests/dbt/test_incremental_equals_full_refresh.py`` runs a longer search (docs/design.md, tests)."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from histories import (
    Histories,
    at_state_dir,
    by_name,
    erp_document,
    magento_order,
    market_line,
    pool,
    wms_return,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from afterclick.settings import load_settings

EXAMPLES = int(os.environ.get("INCREMENTAL_PROPERTY_EXAMPLES", "2"))


def _histories(root: Path) -> Histories:
    return Histories(at_state_dir(load_settings(), root / "state"))


def test_late_corrected_and_removed_records_reach_the_marts_as_a_full_refresh_sees_them(tmp_path):
    """First build: the orders' first versions, a pick time since corrected, a parcel whose carrier
    events are in but whose label (its tracking number) is not. Second (incremental) build: the
    rest. The assertions with a message fail on the old models (the message says how)."""
    h = _histories(tmp_path)
    first = [
        by_name("woo order 1 at 01 10:00"),
        by_name("woo order 2 at 01 11:00"),
        by_name("woo order 2 at 02 10:00"),
        by_name("marketplace M1 line 1 SKU-A at 02 09:00"),
        by_name("marketplace M1 line 2 SKU-D at 02 09:00"),
        by_name("wms S1 picked at 02 08:00"),
        by_name("wms S1 packed"),
        by_name("wms S1 shipped"),
        by_name("carrier TN1 EN TRANSITO"),
        by_name("carrier TN1 ENTREGADO"),
        by_name("carrier TN2 ENTREGADO"),  # landed before anything else of its parcel
        by_name("wms S2 picked"),
        by_name("wms S2 packed"),
        by_name("wms S2 shipped"),
        by_name("erp invoice INV-1 29.2 at 01 13:00"),
    ]
    h.land(first)
    h.build()
    second = [
        by_name("woo order 1 at 01 12:00"),  # line B removed
        by_name("woo order 2 at 04 10:00"),  # still canceled, updated later
        by_name("marketplace M1 line 1 SKU-A at 03 09:00"),  # line D gone from the next export
        by_name("wms S1 picked at 02 09:00"),  # the corrected pick time
        by_name("label S1 TN1"),
        by_name("label S2 TN2"),  # the label lands last: nothing else of its parcel comes later
        by_name("erp invoice INV-1 29.2 at 01 15:00"),
        by_name("erp credit_note CN-1"),
        by_name("wms return woo-t:1 SKU-A at 05 09:00"),
        by_name("wms return woo-t:1 SKU-A at 05 15:00"),
        by_name("woo order 1 at 06 10:00"),
        by_name("woo refund of order 1"),
        by_name("woo refund of order 2"),
    ]
    h.land(second)
    h.build(tests=True)

    lines = h.query("select order_key, sku from marts.fct_order_lines order by 1, 2")
    assert lines == [("amazon-t:M1", "SKU-A"), ("woo-t:1", "SKU-A"), ("woo-t:2", "SKU-C")], (
        "fct_order_lines kept a removed line (incremental by line key)"
    )
    [(picked_at, delivered_at)] = h.query(
        "select picked_at, delivered_at from marts.fct_order_cycle where order_key = 'woo-t:1'"
    )
    assert picked_at == datetime(2026, 10, 2, 9), "fct_order_events kept the old pick time (occurred_at in its key)"
    assert delivered_at == datetime(2026, 10, 4, 12)
    [(late_label_delivered_at,)] = h.query(
        "select delivered_at from marts.fct_order_cycle where order_key = 'amazon-t:M1'"
    )
    assert late_label_delivered_at == datetime(2026, 10, 5, 12), "the carrier events of a late label never arrived"
    [(canceled_at,)] = h.query("select canceled_at from marts.fct_orders where order_key = 'woo-t:2'")
    assert canceled_at == datetime(2026, 10, 2, 10), "canceled_at moved with the later update"
    returns = h.query("select refund_amount from marts.fct_returns where order_key = 'woo-t:1' order by received_at")
    assert returns == [(Decimal("5.00"),), (Decimal("5.00"),)], "each return repeated the order's credit notes"
    goods = dict(h.query("select order_key, net_amount from marts.fct_orders where channel = 'woocommerce'"))
    # order 1: 20.00 of goods, one line of 10.00 refunded (the refund lists it); order 2: canceled
    # after payment, its 41.30 (30.00 goods, 6.30 tax, 5.00 shipping) given back: nothing kept
    assert goods == {"woo-t:1": Decimal("10.00"), "woo-t:2": Decimal("0.00")}, "refunds mixed tax and shipping in"

    h.assert_incremental_equals_full_refresh(first + second)


def _oct(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute)


def test_cancel_times_hold_and_marketplace_lines_and_credit_notes_count_as_the_sources_say(tmp_path):
    """Magento and marketplace orders canceled and updated later keep the time first seen
    canceled; a marketplace line of quantity 0 builds (no unit price); a marketplace refund known
    only from an ERP credit note, for a line the customer sent back, takes that line's goods out of
    net sales (not the order's tax-and-shipping proportions). Each assertion fails on the old models."""
    h = _histories(tmp_path)
    first = [
        magento_order(1, _oct(1, 11), "processing", [("SKU-C", 1, 30.0)]),
        magento_order(1, _oct(2), "canceled", [("SKU-C", 1, 30.0)]),
        market_line("M2", 1, "SKU-A", 1, 10.0, _oct(2, 9), "Canceled"),
        market_line("M3", 1, "SKU-A", 1, 10.0, _oct(2, 9), "Shipped"),
        market_line("M4", 1, "SKU-G", 0, 0.0, _oct(2, 9), "Shipped", amount=1.5),
    ]
    h.land(first)
    h.build()
    second = [
        magento_order(1, _oct(4), "canceled", [("SKU-C", 1, 30.0)]),  # a later change (a comment)
        market_line("M2", 1, "SKU-A", 1, 10.0, _oct(4, 9), "Canceled"),  # the next export, still canceled
        wms_return("amazon-t:M3", "SKU-A", 1, _oct(5, 9)),
        erp_document("CN-3", "amazon-t:M3", "credit_note", 10.0, _oct(6), _oct(6)),
    ]
    h.land(second)
    h.build(tests=True)

    canceled = dict(h.query("select order_key, canceled_at from marts.fct_orders where canceled_at is not null"))
    assert canceled == {"magento-t:1": _oct(2), "amazon-t:M2": _oct(2, 9)}, "canceled_at moved with the later update"
    lines = h.query(
        "select sku, quantity, unit_price, gross_amount from marts.fct_order_lines "
        "where order_key = 'amazon-t:M4' order by line_number"
    )
    assert lines == [("SKU-G", 0, None, Decimal("1.50"))]
    [(refunded, goods, net)] = h.query(
        "select refunded_amount, refunded_goods_amount, net_amount from marts.fct_orders "
        "where order_key = 'amazon-t:M3'"
    )
    # 10.00 of goods (12.10 with tax); the credit note gives back 10.00, the returned line's net
    # value: all goods (prorated by the order's goods share of its total it would be 8.26)
    assert (refunded, goods, net) == (Decimal("10.00"), Decimal("10.00"), Decimal("0.00")), (
        "a credit note for a returned line was split as if it refunded tax too"
    )

    h.assert_incremental_equals_full_refresh(first + second)


@st.composite
def _landings(draw):
    """The pool's records in a drawn order, some left out (never sent), some landed again later (a
    source sending a record twice), cut into 2-3 batches with a build after each. The simplest
    draw, tried first: every record in the sources' order, the first alone in the first batch."""
    records = pool()
    order = draw(st.permutations(range(len(records))))
    left_out = draw(st.sets(st.sampled_from(order), max_size=len(records) // 3))
    again = draw(st.lists(st.sampled_from(order), max_size=4))
    chosen = [i for i in order if i not in left_out] + again
    cuts = sorted(draw(st.sets(st.integers(1, len(chosen) - 1), min_size=1, max_size=2)))
    bounds = [0, *cuts, len(chosen)]
    return [[records[i] for i in chosen[a:b]] for a, b in zip(bounds, bounds[1:], strict=False)]


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batches=_landings())
def test_generated_histories_build_incrementally_to_what_a_full_refresh_builds(batches):
    with tempfile.TemporaryDirectory(prefix="afterclick-histories-") as root:
        h = _histories(Path(root))
        landed = []
        for batch in batches:
            h.land(batch)
            landed += batch
            h.build()
            h.assert_incremental_equals_full_refresh(landed)
