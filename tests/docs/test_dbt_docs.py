"""dbt's documentation of the models is generated with every build and served without the warehouse."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request

import duckdb
from typer.testing import CliRunner

from afterclick.cli import app


def test_every_build_leaves_the_model_documentation_beside_the_warehouse(built):
    settings, first, second = built
    folder = settings.root / "dbt" / "docs"
    assert (folder / "index.html").is_file()
    catalog = json.loads((folder / "catalog.json").read_text())
    manifest = json.loads((folder / "manifest.json").read_text())
    # the catalog is what the warehouse holds (columns with their types), the manifest the lineage
    assert "order_key" in {c.lower() for c in catalog["nodes"]["model.afterclick.fct_orders"]["columns"]}
    assert "model.afterclick.int_orders_unioned" in manifest["parent_map"]["model.afterclick.fct_orders"]
    assert first.docs_seconds is not None and second.docs_seconds is not None
    print(f"dbt docs generated in {first.docs_seconds} s and {second.docs_seconds} s after the fixture's builds")
    # logged apart from the builds (their log, <logs>/dbt/dbt.log, tells the builds' own story)
    assert "Running with dbt=" in (settings.logs_dir / "dbt-docs" / "dbt.log").read_text()


def test_afterclick_docs_serves_the_documentation_while_a_writer_holds_the_warehouse(built):
    settings = built[0]
    env = {**os.environ, "AFTERCLICK_STATE_DIR": str(settings.root), "PYTHONUNBUFFERED": "1"}
    writer = duckdb.connect(str(settings.warehouse_path))  # no other process can open the file now
    server = subprocess.Popen(
        [sys.executable, "-m", "afterclick.cli", "docs", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = server.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", first_line)
        assert url, (first_line, server.stderr.read() if server.poll() is not None else "")
        with urllib.request.urlopen(url.group(0), timeout=30) as page:
            assert page.status == 200
            assert "<title>dbt Docs</title>" in page.read().decode()
        with urllib.request.urlopen(url.group(0) + "catalog.json", timeout=30) as catalog:
            assert "model.afterclick.fct_orders" in json.loads(catalog.read())["nodes"]
    finally:
        server.terminate()
        server.wait(timeout=30)
        writer.close()


def test_afterclick_docs_says_how_to_get_documentation_when_there_is_none(settings):
    result = CliRunner().invoke(app, ["docs", "--port", "0"])
    assert result.exit_code == 2
    assert "afterclick build" in result.output and str(settings.root / "dbt" / "docs") in result.output
