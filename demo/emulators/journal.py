"""What a demo store keeps on disk: its state in a JSON file, and a journal of the changes it made
since (``<file>.log``, one JSON line a change), so a store killed without a clean stop still holds,
when started again, every change it acknowledged.

A change is appended and handed to the operating system (flushed, no fsync) before the store
answers: a killed process loses nothing the kernel was given, only a power cut could. Replaying the
journal onto the file rebuilds the state; a last line cut short by a kill is a change the store never
acknowledged and is skipped. ``compact`` folds the journal into the file (written whole under a
temporary name, renamed over it, then the journal removed: a kill in between replays the journal
onto a file that already holds it, which changes nothing because every line states a value, not a
difference).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO


class Journal:
    def __init__(self, path: Path):
        self.path = path
        self.log_path = path.with_name(path.name + ".log")
        self._lock = threading.Lock()
        self._log: TextIO | None = None  # open for appending once the first change is written
        path.parent.mkdir(parents=True, exist_ok=True)

    def saved(self) -> Any | None:
        """The state the file holds (None: no file yet)."""
        return json.loads(self.path.read_text()) if self.path.exists() else None

    def changes(self) -> Iterator[Any]:
        """The journal's changes in the order they were made, a line cut short by a kill left out."""
        if not self.log_path.exists():
            return
        for line in self.log_path.read_text().splitlines():
            try:
                yield json.loads(line)
            except ValueError:
                continue

    def append(self, *changes: Any) -> None:
        """Journal changes before the store answers (written and flushed to the OS)."""
        text = "".join(json.dumps(change) + "\n" for change in changes)
        with self._lock:
            if self._log is None:
                self._log = self.log_path.open("a")
            self._log.write(text)
            self._log.flush()

    def compact(self, state: Callable[[], Any]) -> None:
        """Write ``state()`` to the file and drop the journal it now holds (nothing to do without one)."""
        with self._lock:
            if self._log is None and not self.log_path.exists():
                return
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(state(), sort_keys=True))
            tmp.replace(self.path)
            if self._log is not None:
                self._log.close()
                self._log = None
            self.log_path.unlink(missing_ok=True)
