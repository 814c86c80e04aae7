"""Each store's write-back switched by kind in settings (``channel_stores.<id>.writeback``): ``off``
sends nothing of that kind to the store, ``dry_run`` records what would be sent and sends nothing,
and either way the store gets it once the kind is on again."""

from __future__ import annotations

import json

import pytest

from afterclick import warehouse
from afterclick.errors import SettingsError
from afterclick.settings import load_settings
from writeback import engine
from writeback.run import adapter_factory, report_lines, store_modes

from pushing import NOW, RecordingSmtp, ledger, notification, push, send_notifications, want_notifications

STORE = {"channel": "vtex", "base_url": "http://127.0.0.1:1", "credentials": {"app_key": "k", "app_token": "t"}}


def _with_writeback(monkeypatch, writeback) -> None:
    monkeypatch.setenv("AFTERCLICK_CHANNEL_STORES", json.dumps({"vtex-br": {**STORE, "writeback": writeback}}))


@pytest.mark.parametrize(
    "writeback, problem",
    [
        ({"stok": "off"}, "channel_stores.vtex-br.writeback: unknown write-back kind 'stok'"),
        ({"prices": "dry-run"}, "channel_stores.vtex-br.writeback: write-back of prices: unknown mode 'dry-run'"),
    ],
)
def test_an_unknown_kind_or_mode_is_a_settings_error_naming_the_setting(monkeypatch, tmp_path, writeback, problem):
    monkeypatch.setenv("AFTERCLICK_STATE_DIR", str(tmp_path))
    _with_writeback(monkeypatch, writeback)
    with pytest.raises(SettingsError, match=problem.replace(".", r"\.")):
        load_settings()


def test_the_switches_of_settings_are_what_the_engine_is_handed(monkeypatch, tmp_path):
    monkeypatch.setenv("AFTERCLICK_STATE_DIR", str(tmp_path))
    _with_writeback(monkeypatch, {"stock": "off", "prices": "dry_run", "tracking": "on"})
    settings = load_settings()
    assert settings.channel_stores["vtex-br"].writeback_mode("status") == "on"
    assert store_modes(settings) == {("stock", "vtex-br"): "off", ("prices", "vtex-br"): "dry_run"}


def test_off_sends_nothing_dry_run_records_without_sending_and_on_again_sends_both(wb, channels):
    modes = {("stock", "vtex-br"): "off", ("stock", "magento-es"): "dry_run"}
    report = push(wb, channels, modes=modes)
    lines = dict((line.split()[1], line) for line in report_lines(report))
    assert "switched off for vtex-br in settings" in lines["vtex-br"]
    assert "would push" in lines["magento-es"]
    assert channels["vtex-br"][1].inventory.writes == 0 and not channels["vtex-br"][1].requests
    assert channels["magento-es"][1].inventory.writes == 0 and not channels["magento-es"][1].requests
    assert channels["shopify-es"][1].inventory.writes > 0  # the other stores as usual
    by_store = dict(
        ledger(
            wb,
            "select store_id, count(*) from ops.writeback_ledger where kind = 'stock' "
            "and store_id in ('vtex-br', 'magento-es') group by 1",
        )
    )
    assert by_store == {}  # neither is recorded as pushed
    dry = ledger(
        wb,
        "select count(*), bool_and(dry_run) from ops.writeback_attempts where store_id = 'magento-es' and kind = 'stock'",
    )[0]
    wanted = ledger(wb, "select count(*) from writeback.wb_stock where store_id = 'magento-es'")[0][0]
    assert dry == (wanted, True)  # each change it would send, recorded as a dry-run attempt

    again = push(wb, channels)  # both switched on again: what they missed is sent
    pushed = {t.target: t.pushed for t in again.targets}
    assert pushed["magento-es"] == wanted and channels["magento-es"][1].inventory.writes == wanted
    assert pushed["vtex-br"] > 0 and channels["vtex-br"][1].inventory.writes == pushed["vtex-br"]
    assert pushed["shopify-es"] == 0


def test_a_stores_customer_messages_follow_its_switch(wb):
    want_notifications(wb, [notification(1), notification(2, store_id="vtex-br"), notification(3, store_id="woo-pt")])
    with RecordingSmtp() as server:
        con = warehouse.connect(wb)
        try:
            report = engine.push(
                con,
                adapter_factory({}, server.smtp(wb), 10.0),
                ["notification"],
                NOW,
                backoff_seconds=0.0,
                modes={("notification", "vtex-br"): "off", ("notification", "woo-pt"): "dry_run"},
            )
        finally:
            con.close()
        assert [m.key for m in server.accepted] == ["shipping_confirmation:o1:s1"]
        assert sorted((t.pushed, t.skipped, t.dry_run) for t in report.targets) == [
            (0, "switched off for vtex-br in settings", False),
            (1, None, False),
            (1, None, True),
        ]
        later = send_notifications(wb, server.smtp(wb))  # switched on: the two held back go out
        assert later.total("pushed") == 2 and len(server.accepted) == 3
