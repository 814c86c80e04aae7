"""What a channel store's catalogue knows about stock: its item ids per SKU and the quantity it
shows per SKU and location. Kept in a JSON file when given one, so what afterclick pushed is
still there when the demo's emulators start again."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from afterclick.demo.world import World


def sku_number(sku: str) -> int:
    return int(sku.rsplit("-", 1)[-1])


class ChannelInventory:
    def __init__(self, world: World, path: Path | None = None, unknown_skus: set[str] | None = None):
        self.path = path
        self.unknown_skus = set(unknown_skus or ())  # SKUs this channel's catalogue does not have
        self._skus = world.products["sku"].to_list()
        self._known = set(self._skus)
        self._by_number = {str(sku_number(s)): s for s in self._skus}
        self._lock = threading.Lock()
        self.quantities: dict[str, dict[str, int]] = {}  # sku -> location -> quantity
        self.writes = 0  # quantity changes applied, for tests and benchmarks
        if path is not None and path.exists():
            self.quantities = json.loads(path.read_text())

    @property
    def skus(self) -> list[str]:
        return [s for s in self._skus if s not in self.unknown_skus]

    def knows(self, sku: str) -> bool:
        return sku in self._known and sku not in self.unknown_skus

    def by_number(self, number: str) -> str | None:
        """The SKU a channel's numeric item id stands for (None: not in this catalogue)."""
        sku = self._by_number.get(number)
        return sku if sku is not None and self.knows(sku) else None

    def get(self, sku: str, location: str) -> int | None:
        return self.quantities.get(sku, {}).get(location)

    def set(self, items: list[tuple[str, str, int]]) -> None:
        with self._lock:
            for sku, location, quantity in items:
                self.quantities.setdefault(sku, {})[location] = int(quantity)
                self.writes += 1
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps(self.quantities, sort_keys=True))
                tmp.replace(self.path)
