"""The columns of a dropped file: each must have a name of its own that the loader can land.

Names are compared as DuckDB compares them (case-insensitively) after trimming spaces, and a
column spelled as the file kind expects it in other capitals (``Warehouse_ID``) is that column.
A file is rejected as a whole (``FileRejected``) when a column appears twice under such names,
when a column is named like one of the loader's own bookkeeping columns (``source_row``,
``source_file``, the load metadata ``_batch_id``/``_loaded_at``/``_source``/``_store``, or any
name starting with ``__``), or when a column without a name holds values. A column without a
name and without a value (what a trailing delimiter at the end of every line makes) is dropped.
Rows without any value (a line of separators or of blanks) are not rows: they are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from ingest.landing import META_COLUMNS

BOOKKEEPING = frozenset(c.casefold() for c in ("source_row", "source_file", *META_COLUMNS))


class FileRejected(ValueError):
    """The whole file cannot be used."""


def is_bookkeeping(name: str) -> bool:
    return name.strip().casefold() in BOOKKEEPING or name.strip().startswith("__")


def _written(column: str) -> pl.Expr:
    """A value is there (not null, not only blanks)."""
    return pl.col(column).is_not_null() & (pl.col(column).cast(pl.Utf8).str.strip_chars() != "")


def usable_columns(
    file_name: str, frame: pl.DataFrame, names: Sequence[str | None], expected: dict[str, str]
) -> pl.DataFrame:
    """``frame`` (its columns in file order, named anyhow) with the file's column ``names``:
    canonical where a name matches one of ``expected`` (file spelling -> canonical column) in
    other capitals or spaces, the others as written, trimmed. Raises ``FileRejected`` on a column
    twice, a bookkeeping name or a nameless column with values; drops a nameless empty one."""
    wanted = {spelling.strip().casefold(): (spelling, canonical) for spelling, canonical in expected.items()}
    seen: dict[str, str] = {}  # normal name -> the name as the file wrote it
    keep: dict[str, str] = {}  # frame column -> landed name
    for position, (column, written) in enumerate(zip(frame.columns, names, strict=True), start=1):
        name = (written or "").strip()
        if not name:
            if frame.select(_written(column).any()).item():
                raise FileRejected(f"{file_name}: column {position} has no name but holds values")
            continue
        if is_bookkeeping(name):
            raise FileRejected(
                f"{file_name}: column '{name}' has a name the loader uses for its own bookkeeping "
                f"(rename it in the file)"
            )
        normal = name.casefold()
        if normal in seen:
            shown = wanted[normal][0] if normal in wanted else seen[normal]
            raise FileRejected(f"{file_name}: column '{shown}' appears twice (as '{seen[normal]}' and '{name}')")
        seen[normal] = name
        keep[column] = wanted[normal][1] if normal in wanted else name
    # a canonical column reached under two spellings (its own name and the file kind's spelling)
    landed: dict[str, str] = {}
    for column, name in keep.items():
        if name.casefold() in landed:
            raise FileRejected(
                f"{file_name}: column '{name}' appears twice (as '{landed[name.casefold()]}' and "
                f"'{(names[frame.columns.index(column)] or '').strip()}')"
            )
        landed[name.casefold()] = (names[frame.columns.index(column)] or "").strip()
    return frame.select([pl.col(c).alias(n) for c, n in keep.items()])


def without_blank_rows(frame: pl.DataFrame, ignore: tuple[str, ...] = ("source_row",)) -> pl.DataFrame:
    """The rows that hold at least one value (a line of separators or blanks is no row)."""
    columns = [c for c in frame.columns if c not in ignore]
    if not columns or frame.is_empty():
        return frame
    return frame.filter(pl.any_horizontal([_written(c) for c in columns]))
