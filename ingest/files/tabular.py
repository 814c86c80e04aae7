"""Typed reading of dropped CSV and JSON-lines files, and the inbox loop that lands them.

A ``FileSpec`` names one kind of file (by a name pattern such as ``fulfilment_*``), its
columns with their types, which are required, and the key of one record version. Reading a
file gives the good rows typed, plus every row that could not be used with its reason.

A file is corrupt as a whole, moved to ``rejected/`` and recorded in ``ops.quarantine``, when
it is empty, truncated (its last line has no line end: the writer stopped mid-line), not
valid text in its encoding, unreadable as CSV, lacks a required column, has a column twice, a
column named like the loader's bookkeeping or a nameless column with values (ingest.files.header),
more bad rows than ``file_reject_bad_share`` allows (one summary row then), or is refused by the
database (its group lands without it). A single bad row (a required value missing, any value
unparsable as its type such as an impossible date, a negative quantity, an unknown SKU, a time
in the future, a JSON line that does not parse, a different row reusing a key) is quarantined
with its line number and the rest of the file lands. Blank lines (only separators or blanks) are
no rows. Extra columns land (the raw table grows a column).
"""

from __future__ import annotations

import fnmatch
import io
import json
import re
from collections.abc import Iterator, Set
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from ingest.bad_input import file_rejected_summary, rules
from ingest.files.header import FileRejected, usable_columns, without_blank_rows
from ingest.inbox import Inbox, content_hash, file_record_sql, move_to, processed_among, ready_files
from ingest.landing import Batch, Landed, Rejected, land_in_groups, split_future_times

DUCK_TYPES = {"str": "varchar", "int": "bigint", "float": "double", "datetime": "timestamp", "date": "date"}
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
__all__ = ["FileRejected", "FileSpec", "ingest_inbox", "read_file"]


@dataclass(frozen=True)
class FileSpec:
    entity: str  # lands in raw.<source>__<entity>
    pattern: str  # file name pattern, e.g. "fulfilment_*"
    columns: dict[str, str]  # canonical column -> str | int | float | datetime | date
    required: tuple[str, ...]
    key: tuple[str, ...]  # one version of one record
    rename: dict[str, str] = field(default_factory=dict)  # file column -> canonical column
    separator: str = ","
    encoding: str = "utf8"
    date_formats: tuple[str, ...] = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")
    timezone: str | None = None  # naive times in the file are local to this zone; landed in UTC
    non_negative: tuple[str, ...] = ()
    sku_column: str | None = None  # checked against the product catalogue when one is known

    def matches(self, name: str) -> bool:
        return fnmatch.fnmatch(name, self.pattern)

    def raw_columns(self) -> dict[str, str]:
        """Declared columns of the raw table (created before the first file arrives)."""
        return {**{c: DUCK_TYPES[t] for c, t in self.columns.items()}, "source_file": "varchar", "source_row": "bigint"}

    def expected_names(self) -> dict[str, str]:
        """Column as the file spells it -> canonical column (a canonical name is its own spelling)."""
        return {**{c: c for c in self.columns}, **self.rename}


def _text(path: Path, spec: FileSpec) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise FileRejected(f"{path.name} is empty")
    if not data.endswith(b"\n"):
        raise FileRejected(f"{path.name} is truncated: its last line has no line end")
    try:
        return data.decode(spec.encoding).removeprefix("\ufeff")  # a byte order mark is no part of the text
    except UnicodeDecodeError as exc:
        raise FileRejected(
            f"{path.name} is not valid {spec.encoding} text (byte {data[exc.start]:#04x} at offset {exc.start})"
        ) from exc


def _json_text(value) -> str | None:
    """A JSON value as text, spelled as JSON spells it (``true``, ``1.5``, ``{"a": 1}``); null stays null."""
    return value if value is None or isinstance(value, str) else json.dumps(value)


_BLANK_LINE = re.compile(r"\n[ \t\r]*\n")  # searched in "\n" + text: a blank line anywhere, the first too


def _json_lines_at_once(text: str, float_columns: Set[str]) -> pl.DataFrame | None:
    """A clean file read by polars in one go (≈2x quicker than line by line here): every line one JSON
    object of plain values, no blank line, and numbers with a fraction only in float columns (polars
    would spell an int of such a column ``1.0``). None: read it line by line, which names each bad line."""
    if _BLANK_LINE.search("\n" + text):
        return None
    try:
        frame = pl.read_ndjson(io.BytesIO(text.encode()), infer_schema_length=None)
    except Exception:  # noqa: BLE001 - a line polars cannot read: the line-by-line reader says which and why
        return None
    if frame.height != text.count("\n") or any(
        dtype.is_nested() or (dtype == pl.Float64 and name not in float_columns) for name, dtype in frame.schema.items()
    ):
        return None
    return frame.select(pl.col(c).cast(pl.Utf8) for c in frame.columns)


def _json_lines(
    path: Path, text: str, float_columns: Set[str] = frozenset(), expected: dict[str, str] | None = None
) -> tuple[pl.DataFrame, list[Rejected]]:
    """The file's records (one text column per key, the keys checked as a header's names are, see
    ingest.files.header) numbered by line, and its bad lines."""
    if (frame := _json_lines_at_once(text, float_columns)) is not None:
        numbers, bad = pl.int_range(1, frame.height + 1, dtype=pl.Int64, eager=True), list[Rejected]()
    else:
        rows, lines, bad = [], [], []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                bad.append(
                    Rejected(payload=line[:2000], reason=f"{path.name} line {number}: not a JSON object ({exc})")
                )
                continue
            rows.append({k: _json_text(v) for k, v in record.items()})
            lines.append(number)
        columns = list(dict.fromkeys(k for r in rows for k in r))
        frame = pl.DataFrame(rows, schema={c: pl.Utf8 for c in columns}) if rows else pl.DataFrame()
        numbers = pl.Series(lines, dtype=pl.Int64)
    frame = usable_columns(path.name, frame, frame.columns, expected or {})
    return frame.select(numbers.alias("source_row"), *frame.columns), bad


def _csv(path: Path, text: str, spec: FileSpec) -> pl.DataFrame:
    """The file's rows as text under its checked column names (see ingest.files.header), numbered
    by line; rows without any value are skipped. The header is read as a row of its own, so names
    that polars would make unique (a column twice) are seen as the file wrote them."""
    try:
        frame = pl.read_csv(
            io.StringIO(text),
            separator=spec.separator,
            infer_schema_length=0,
            has_header=False,
            truncate_ragged_lines=False,
        )
    except Exception as exc:
        raise FileRejected(f"cannot read {path.name} as CSV: {exc}") from exc
    names = list(frame.row(0))
    frame = usable_columns(path.name, frame.slice(1), names, spec.expected_names())
    frame = frame.with_row_index("source_row", offset=2).with_columns(pl.col("source_row").cast(pl.Int64))
    return without_blank_rows(frame)


def _typed(col: str, kind: str, spec: FileSpec) -> pl.Expr:
    value = pl.col(col).str.strip_chars()
    if kind == "int":
        return value.cast(pl.Int64, strict=False)
    if kind == "float":
        return value.str.replace(",", ".").cast(pl.Float64, strict=False)
    if kind == "date":
        return value.str.to_date("%Y-%m-%d", strict=False)
    if kind == "datetime":
        parsed = pl.coalesce([value.str.strptime(pl.Datetime("us"), f, strict=False) for f in spec.date_formats])
        if spec.timezone:
            parsed = (
                parsed.dt.replace_time_zone(spec.timezone, ambiguous="earliest", non_existent="null")
                .dt.convert_time_zone("UTC")
                .dt.replace_time_zone(None)
            )
        return parsed
    return value


def read_file(path: Path, spec: FileSpec, known_skus: set[str] | None = None) -> tuple[pl.DataFrame, list[Rejected]]:
    """The file's good rows in canonical, typed columns (plus source_file, source_row), and its bad
    rows: a required value missing, any value present but unparsable as its type, a negative
    quantity, or (given ``known_skus``) a SKU the product catalogue does not have."""
    text = _text(path, spec)
    if path.suffix.lower() in JSON_SUFFIXES:
        floats = {c for c, kind in spec.columns.items() if kind == "float"}
        frame, rejected = _json_lines(
            path, text, floats | {src for src, c in spec.rename.items() if c in floats}, spec.expected_names()
        )
    else:
        frame, rejected = _csv(path, text, spec), []
    missing = [c for c in spec.required if c not in frame.columns]
    if missing and (frame.height or not rejected):
        raise FileRejected(
            f"{path.name} lacks required column(s) {missing} (has {[c for c in frame.columns if c != 'source_row']})"
        )
    if frame.height == 0:
        return frame, rejected
    frame = frame.with_columns(*[pl.lit(None, pl.Utf8).alias(c) for c in spec.columns if c not in frame.columns])

    def typed(c: str) -> pl.Expr:  # the typed value, beside the value as the file wrote it (pl.col(c))
        return pl.col(f"__typed__ {c}")

    def written(c: str) -> pl.Expr:  # the file wrote a value there (not blank)
        return pl.col(c).is_not_null() & (pl.col(c).cast(pl.Utf8).str.strip_chars() != "")

    def unusable(c: str, kind: str) -> pl.Expr:
        shown = pl.col(c).cast(pl.Utf8).str.slice(0, 40)
        if c in spec.required:
            return (
                pl.when(typed(c).is_null() & pl.col(c).is_null())
                .then(pl.lit(f"{c} missing; "))
                .when(typed(c).is_null())
                .then(pl.lit(f"{c} unparsable as {kind} (") + shown + pl.lit("); "))
                .otherwise(pl.lit(""))
            )
        # an optional value that is there but unusable (an impossible date, text in a number) is not dropped silently
        return (
            pl.when(typed(c).is_null() & written(c))
            .then(pl.lit(f"{c} unparsable as {kind} (") + shown + pl.lit("); "))
            .otherwise(pl.lit(""))
        )

    checks = [unusable(c, t) for c, t in spec.columns.items() if c in spec.required or t != "str"]
    checks += [
        pl.when(typed(c) < 0).then(pl.lit(f"{c} is negative; ")).otherwise(pl.lit("")) for c in spec.non_negative
    ]
    if spec.sku_column and known_skus is not None:
        sku = typed(spec.sku_column)
        checks.append(
            pl.when((sku.str.strip_chars() != "") & ~sku.is_in(list(known_skus)))
            .then(pl.lit(f"{spec.sku_column} ") + sku + pl.lit(" is not in the product catalogue; "))
            .otherwise(pl.lit(""))
        )
    # one query: typing, checks and the reasons (each eager step was a query of its own: ~20 a file)
    checked = (
        frame.lazy()
        .with_columns(*[_typed(c, t, spec).alias(f"__typed__ {c}") for c, t in spec.columns.items()])
        .with_columns(pl.concat_str(checks).alias("__problem__"))
        .collect()
    )
    bad = checked.filter(pl.col("__problem__") != "")
    if bad.height:
        rejected += [
            Rejected(
                payload={k: v for k, v in original.items() if k != "source_row"},
                reason=f"{path.name} row {original['source_row']}: {problem.strip('; ')}",
                key=str(original.get(spec.key[0])),
            )
            for original, problem in zip(bad.select(frame.columns).to_dicts(), bad["__problem__"])
        ]
    good = checked.filter(pl.col("__problem__") == "").select(
        *[typed(c).alias(c) if c in spec.columns else pl.col(c) for c in frame.columns],
        pl.lit(path.name).alias("source_file"),
    )
    return good, rejected


def ingest_inbox(
    con: duckdb.DuckDBPyConnection,
    inbox: Inbox,
    source: str,
    store: str,
    specs: list[FileSpec],
    min_age_seconds: float = 0.0,
    known_skus: set[str] | None = None,
) -> list[Landed]:
    """Land every complete, not-yet-seen file of the inbox under the spec its name matches.

    Each file lands in one transaction together with its content hash (``ops.files``), so a
    file is landed once even if the process dies before moving it; it then moves to
    ``archive/``. Consecutive files of one kind share a transaction (``land_in_groups``: the
    same rows land as one by one, far fewer commits). A corrupt file, or one no spec matches,
    moves to ``rejected/`` with its reason in ``ops.quarantine``; so does a file whose share of
    bad rows passes ``file_reject_bad_share`` (one summary row), and one the database refuses
    to land (its group lands without it). A duplicate (same content under another name) is
    archived unread.
    """
    inbox.ensure()
    paths: dict[str, tuple[Path, Path]] = {}  # batch id -> (file, where it goes once its group committed)
    seen: set[str] = set()  # content hashes read in this run (their group may not have committed yet)

    def rejection(path: Path, entity: str, reason: str, batch_id: str | None = None) -> Batch:
        batch = Batch(
            source,
            entity,
            store,
            pl.DataFrame(),
            key=(),
            rejected=[Rejected(payload=path.name, reason=reason, key=path.name)],
        )
        batch.batch_id = batch_id or batch.batch_id
        paths[batch.batch_id] = (path, inbox.rejected)
        return batch

    def batches() -> Iterator[Batch]:
        digests = {path: content_hash(path) for path in ready_files(inbox, min_age_seconds)}
        landed_before = processed_among(con, list(digests.values()))  # e.g. landed before a crash stopped the move
        for path, digest in digests.items():
            if digest in seen or digest in landed_before:
                move_to(path, inbox.archive)
                continue
            seen.add(digest)
            spec = next((s for s in specs if s.matches(path.name)), None)
            try:
                if spec is None:
                    raise FileRejected(
                        f"{path.name}: no file kind of {source} matches this name "
                        f"(expected {', '.join(s.pattern for s in specs)})"
                    )
                good, rejected = read_file(path, spec, known_skus)
            except FileRejected as exc:
                yield rejection(path, spec.entity if spec else "files", str(exc))
                continue
            except OSError:
                raise  # the inbox itself is unreadable: not this file's fault
            except Exception as exc:  # noqa: BLE001 - whatever else a file makes the reader stumble on rejects it
                yield rejection(
                    path,
                    spec.entity if spec else "files",
                    f"cannot read {path.name}: {type(exc).__name__}: {exc}"[:2000],
                )
                continue
            batch = split_future_times(
                Batch(
                    source,
                    spec.entity,
                    store,
                    good,
                    key=spec.key or ("source_file", "source_row"),
                    rejected=rejected,
                    cursor_value=path.name,
                )
            )
            read = batch.records.height + len(batch.rejected)
            if rules().rejects_file(len(batch.rejected), read):
                yield rejection(
                    path,
                    spec.entity,
                    file_rejected_summary(path.name, len(batch.rejected), read, [r.reason for r in batch.rejected]),
                )
                continue
            batch.extra_sql.append(file_record_sql(digest, source, store, path, batch.batch_id, batch.records.height))
            paths[batch.batch_id] = (path, inbox.archive)
            yield batch

    def file_away(group: list[Batch], _landed: Landed) -> None:
        for batch in group:
            move_to(*paths.pop(batch.batch_id))

    def refused(batch: Batch, exc: Exception) -> Batch:
        path = paths[batch.batch_id][0]
        return rejection(
            path,
            batch.entity,
            f"{path.name} could not be landed: {type(exc).__name__}: {exc}"[:2000],
            batch_id=batch.batch_id,
        )

    return land_in_groups(con, batches(), on_landed=file_away, on_refused=refused)
