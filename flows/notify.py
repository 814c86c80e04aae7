"""Tell the operator when a flow fails: a clear log line, and a webhook post when one is configured."""

from __future__ import annotations

import logging

import httpx

from afterclick.settings import load_settings

log = logging.getLogger("afterclick.notify")


def failure_message(flow_name: str, run_name: str, state) -> str:
    return f"afterclick flow {flow_name!r} run {run_name!r} failed: {state.message or state.name}"


def notify_on_failure(flow, flow_run, state) -> None:
    """Prefect ``on_failure`` hook. Never raises: a broken webhook must not hide the real failure."""
    message = failure_message(flow.name, flow_run.name, state)
    log.error(message)
    url = load_settings().notify_webhook_url
    if not url:
        return
    try:
        httpx.post(url.get_secret_value(), json={"text": message, "flow": flow.name, "run": flow_run.name,
                                                  "state": state.name}, timeout=10).raise_for_status()
    except httpx.HTTPError as exc:
        log.error("could not notify the failure webhook: %s", type(exc).__name__)
