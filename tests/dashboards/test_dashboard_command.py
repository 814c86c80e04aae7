"""``afterclick dashboard`` serves on ``dashboard_address`` only (127.0.0.1 unless the user exposes
the dashboards) and prints the URL they answer on. The server it becomes is caught at ``os.execve``;
test_browser.py checks a started server refuses the machine's other addresses."""

from __future__ import annotations

import os
import socket

import pytest
from typer.testing import CliRunner

from afterclick.cli import app


class Served(Exception):
    """Raised in place of exec'ing Streamlit: carries its command line."""


def _dashboard(monkeypatch, *args: str) -> tuple[list[str], str, str]:
    """Runs ``afterclick dashboard``: the streamlit command line it would become, its stdout and stderr."""

    def execve(path, argv, env):
        raise Served(argv)

    monkeypatch.setattr(os, "execve", execve)
    result = CliRunner().invoke(app, ["dashboard", *args])
    assert isinstance(result.exception, Served), result.output
    return result.exception.args[0], result.stdout, result.stderr


def _option(argv: list[str], name: str) -> str:
    assert argv.count(name) == 1, argv
    return argv[argv.index(name) + 1]


def test_the_dashboards_listen_on_loopback_by_default(settings, monkeypatch):
    argv, out, err = _dashboard(monkeypatch, "--port", "8765")
    assert argv[1:4] == ["-m", "streamlit", "run"] and argv[4].endswith("dashboards/app.py")
    assert _option(argv, "--server.address") == "127.0.0.1"
    assert _option(argv, "--server.port") == "8765"
    assert "dashboards: http://127.0.0.1:8765 " in out and not err


def test_an_exposed_address_comes_from_settings(settings, monkeypatch):
    monkeypatch.setenv("AFTERCLICK_DASHBOARD_ADDRESS", "0.0.0.0")
    argv, out, err = _dashboard(monkeypatch, "--port", "8765")
    assert _option(argv, "--server.address") == "0.0.0.0"
    assert f"dashboards: http://{socket.gethostname()}:8765 " in out  # where others reach it
    assert "every interface without a login" in err  # dashboard_login is off
    monkeypatch.setenv("AFTERCLICK_DASHBOARD_LOGIN", "true")
    assert not _dashboard(monkeypatch)[2]


@pytest.mark.parametrize(("address", "url"), [("192.0.2.10", "http://192.0.2.10:8501"), ("::1", "http://[::1]:8501")])
def test_one_interface_is_served_and_printed_as_given(settings, monkeypatch, address, url):
    monkeypatch.setenv("AFTERCLICK_DASHBOARD_ADDRESS", address)
    argv, out, _ = _dashboard(monkeypatch)
    assert _option(argv, "--server.address") == address
    assert f"dashboards: {url} " in out


def test_an_empty_address_is_refused(settings, monkeypatch):
    """An empty address would make Streamlit listen on every interface: a clear error instead."""
    monkeypatch.setenv("AFTERCLICK_DASHBOARD_ADDRESS", " ")
    monkeypatch.setattr(os, "execve", lambda *a: pytest.fail("the server was started"))
    result = CliRunner().invoke(app, ["dashboard"])
    assert result.exit_code == 2 and "dashboard_address is empty" in result.output
