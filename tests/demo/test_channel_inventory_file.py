"""The demo channels keep the stock they were told, like a real store, even when the process
serving them dies mid-push (the kill drills rely on it to read pushed stock back)."""

from types import SimpleNamespace

import polars as pl

from demo.emulators.inventory import ChannelInventory

WORLD = SimpleNamespace(products=pl.DataFrame({"sku": ["SKU-0001", "SKU-0002", "SKU-0003"]}))


def test_a_store_killed_mid_push_still_shows_every_change_it_answered(tmp_path):
    path = tmp_path / "shop.json"
    shop = ChannelInventory(WORLD, path)
    shop.set([("SKU-0001", "L1", 5), ("SKU-0002", "L1", 7)])
    shop.compact()  # the emulator stopped once: the file holds these
    shop.set([("SKU-0001", "L1", 4)])
    shop.set([("SKU-0003", "L2", 9)])
    # killed here: no compact; the last change's line was cut short by the kill
    with shop.log_path.open("a") as log:
        log.write('["SKU-0002", "L1", 1')
    again = ChannelInventory(WORLD, path)
    assert again.quantities == {"SKU-0001": {"L1": 4}, "SKU-0002": {"L1": 7}, "SKU-0003": {"L2": 9}}
    assert not again.log_path.exists()  # folded into the file on load: the next changes start a clean log
    again.set([("SKU-0002", "L1", 2)])
    assert ChannelInventory(WORLD, path).quantities["SKU-0002"] == {"L1": 2}


def test_a_store_without_a_file_keeps_stock_in_memory_only(tmp_path):
    shop = ChannelInventory(WORLD)
    shop.set([("SKU-0001", "L1", 3)])
    shop.compact()
    assert shop.get("SKU-0001", "L1") == 3 and shop.writes == 1 and list(tmp_path.iterdir()) == []
