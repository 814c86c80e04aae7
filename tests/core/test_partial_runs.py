"""A run in which a source failed still lands the other sources, builds and publishes, then exits with
its own code (EXIT_PARTIAL), names the failed source on stderr and records itself as partial."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

from typer.testing import CliRunner

from afterclick import warehouse
from afterclick.cli import EXIT_PARTIAL, app
from demo.mailbox import messages, serve_mailbox

runner = CliRunner()
ONE_MODEL = "stg_marketplace__order_lines"

MIRAVIA_EXPORT = (
    "Número de pedido;Fecha de creación;Fecha de actualización;Estado;SKU del vendedor;Cantidad;Precio unitario\n"
    "MV-1;02/10/2026 10:56;03/10/2026 09:00;enviado;SKU-1;2;10,50\n"
    "MV-2;02/10/2026 11:30;03/10/2026 09:00;enviado;SKU-2;1;5,00\n"
)


def broken_erp_and_a_marketplace_export(settings, monkeypatch, tmp_path) -> None:
    """The ERP's database is gone (its URL points at a file that does not exist); a marketplace
    export waits in its inbox."""
    monkeypatch.setenv("AFTERCLICK_ERP__URL", f"sqlite:///{tmp_path / 'gone' / 'erp.sqlite'}")
    monkeypatch.setenv("AFTERCLICK_WRITEBACK__KINDS", "[]")
    monkeypatch.setenv("AFTERCLICK_RETRY_BACKOFF_SECONDS", "0.05")
    inbox = settings.landing_dir / "marketplace" / "miravia-es" / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "orders_20261003.csv").write_text(MIRAVIA_EXPORT)


def assert_partial_run(settings, result) -> None:
    assert result.exit_code == EXIT_PARTIAL, result.output
    assert "run partial: 1 source failed (erp)" in result.stderr
    assert "published snapshot" in result.stdout
    with warehouse.read_serving(settings) as con:  # the other sources landed, built and published
        landed = con.sql("select sum(rows_landed) from ops.loads where source = 'marketplace'").fetchall()
        builds = con.sql("select status, models_built from ops.builds").fetchall()
        [(status, summary, error)] = con.sql("select status, summary, error from ops.runs").fetchall()
    assert landed == [(2,)]
    assert builds == [("success", 1)]
    assert status == "partial" and "erp" in error
    assert "erp" in json.loads(summary)["ingest"]["errors"]


def test_a_run_with_a_failed_source_publishes_the_rest_and_exits_partial(settings, monkeypatch, tmp_path):
    broken_erp_and_a_marketplace_export(settings, monkeypatch, tmp_path)
    result = runner.invoke(app, ["run", "--plain", "--select", ONE_MODEL])
    assert_partial_run(settings, result)


def _cli_process(args: list[str]) -> SimpleNamespace:
    """The real command in a process of its own, on the test session's Prefect server. (Through
    typer's CliRunner, Prefect's console log handler would be set up on the runner's stderr, which is
    closed when the command returns: every later flow in this test process would fail to log.)"""
    from prefect.settings import PREFECT_API_URL

    done = subprocess.run(
        [sys.executable, "-m", "afterclick.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()},
        timeout=600,
    )
    return SimpleNamespace(
        exit_code=done.returncode, stdout=done.stdout, stderr=done.stderr, output=done.stdout + done.stderr
    )


def test_the_same_through_prefect(settings, monkeypatch, tmp_path, prefect_server):
    """`afterclick run` (the Prefect flow): the same exit code, message and run record; the flow
    completed, so Prefect's failure hook does not fire, yet the operator is mailed that it was partial."""
    broken_erp_and_a_marketplace_export(settings, monkeypatch, tmp_path)
    box = tmp_path / "operator-mail"
    with serve_mailbox(box) as (host, port):
        monkeypatch.setenv("AFTERCLICK_SMTP__HOST", host)
        monkeypatch.setenv("AFTERCLICK_SMTP__PORT", str(port))
        monkeypatch.setenv("AFTERCLICK_NOTIFY_EMAIL", "ops@retailer.invalid")
        result = _cli_process(["run", "--select", ONE_MODEL])
    assert_partial_run(settings, result)
    [mail] = messages(box)
    assert mail["Subject"] == "[afterclick] flow pipeline partial: sources failed"
    assert "1 source(s) failed (erp)" in mail.get_payload(decode=True).decode()
