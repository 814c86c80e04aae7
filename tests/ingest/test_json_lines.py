"""JSON-lines files: a clean file is read in one go, any other line by line; both give the same rows."""

import json

from polars.testing import assert_frame_equal

from ingest.files import tabular
from ingest.files.wms import SPECS

FULFILMENT = next(s for s in SPECS if s.entity == "fulfilment_events")
RECORDS = [
    {
        "order_key": "shopify-es:1",
        "shipment_id": "S1",
        "parcel_no": 1,
        "parcel_count": 2,
        "stage": "packed",
        "occurred_at": "2026-11-02T10:00:00Z",
        "carrier": "seur",
        "weight_kg": 4.63,
        "ship_to_postcode": 28001,
    },
    {
        "order_key": "shopify-es:1",
        "shipment_id": "S2",
        "parcel_no": 2,
        "parcel_count": 2,
        "stage": "packed",
        "occurred_at": "2026-11-02T10:05:00Z",
        "weight_kg": 2,
        "gift": True,
    },  # an int in a float column, an extra column
    {
        "order_key": "vtex-br:7",
        "shipment_id": "S3",
        "parcel_no": 1,
        "stage": "picked",
        "occurred_at": "2026-11-02 11:00:00",
        "tracking_number": None,
        "weight_kg": -1.5,
    },  # negative: quarantined
]


def _read(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return tabular.read_file(path, FULFILMENT)


def test_a_clean_file_read_at_once_gives_the_rows_a_line_by_line_read_gives(tmp_path):
    lines = [json.dumps(r) for r in RECORDS]
    assert tabular._json_lines_at_once("\n".join(lines) + "\n", {"weight_kg"}) is not None  # the quick path is taken
    at_once, bad_at_once = _read(tmp_path, "fulfilment_a.jsonl", "\n".join(lines) + "\n")
    # a blank line sends the same records through the line-by-line reader (numbered one further from there on)
    by_line, bad_by_line = _read(tmp_path, "fulfilment_b.jsonl", lines[0] + "\n\n" + "\n".join(lines[1:]) + "\n")
    assert at_once.height == 2 and at_once["gift"].to_list() == [None, "true"]
    assert at_once["ship_to_postcode"].to_list() == ["28001", None] and at_once["weight_kg"].to_list() == [4.63, 2.0]
    assert_frame_equal(at_once.drop("source_row", "source_file"), by_line.drop("source_row", "source_file"))
    assert [r.reason.replace("_b.", "_a.").replace("row 4", "row 3") for r in bad_by_line] == [
        r.reason for r in bad_at_once
    ]
    assert [r.reason for r in bad_at_once] == ["fulfilment_a.jsonl row 3: weight_kg is negative"]


def test_a_fraction_in_an_int_column_or_a_bad_line_is_read_line_by_line_and_named(tmp_path):
    mixed = [dict(RECORDS[0], parcel_no=1), dict(RECORDS[1], parcel_no=1.5)]
    text = "\n".join(json.dumps(r) for r in mixed) + "\n"
    assert tabular._json_lines_at_once(text, {"weight_kg"}) is None  # polars would spell parcel 1 as "1.0"
    good, bad = _read(tmp_path, "fulfilment_c.jsonl", text)
    assert good["parcel_no"].to_list() == [1]
    assert [r.reason for r in bad] == ["fulfilment_c.jsonl row 2: parcel_no unparsable as int (1.5)"]
    good, bad = _read(tmp_path, "fulfilment_d.jsonl", json.dumps(RECORDS[0]) + '\n{"order_key": \n')
    assert (
        good.height == 1 and len(bad) == 1 and bad[0].reason.startswith("fulfilment_d.jsonl line 2: not a JSON object")
    )
