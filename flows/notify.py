"""Tell the operator when a flow fails, or when a pipeline run is partial (some sources failed, the
rest landed and was published): a clear log line, a webhook post and an email when they are
configured."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import formatdate

import httpx
from pydantic import SecretStr

from afterclick import smtp
from afterclick.settings import Settings, load_settings

log = logging.getLogger("afterclick.notify")


def failure_message(flow_name: str, run_name: str, state) -> str:
    return f"afterclick flow {flow_name!r} run {run_name!r} failed: {state.message or state.name}"


def _post_webhook(url: SecretStr, message: str, flow_name: str, run_name: str, state_name: str) -> None:
    try:
        httpx.post(
            url.get_secret_value(),
            timeout=10,
            json={"text": message, "flow": flow_name, "run": run_name, "state": state_name},
        ).raise_for_status()
    except httpx.HTTPError as exc:
        log.error("could not notify the failure webhook: %s", type(exc).__name__)


def _send_email(settings: Settings, message: str, flow_name: str, subject: str = "failed") -> None:
    if not settings.smtp.host:
        log.error("notify_email is set but smtp.host is not: no failure email sent")
        return
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Date"] = smtp.sender(settings.smtp), settings.notify_email, formatdate()
    mail["Subject"] = f"[afterclick] flow {flow_name} {subject}"
    mail.set_content(f"{message}\n\nState dir: {settings.root}\nSee `afterclick status` and the Prefect UI.\n")
    try:
        with smtp.session(settings.smtp) as client:
            client.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:
        log.error("could not send the failure email: %s", type(exc).__name__)


def _notify(settings: Settings, message: str, flow_name: str, run_name: str, state_name: str, subject: str) -> None:
    log.error(message)
    if settings.notify_webhook_url:
        _post_webhook(settings.notify_webhook_url, message, flow_name, run_name, state_name)
    if settings.notify_email:
        _send_email(settings, message, flow_name, subject)


def notify_on_failure(flow, flow_run, state) -> None:
    """Prefect ``on_failure`` hook. Never raises: a broken webhook or mail server must not hide the
    real failure."""
    _notify(
        load_settings(),
        failure_message(flow.name, flow_run.name, state),
        flow.name,
        flow_run.name,
        state.name,
        "failed",
    )


def notify_partial(settings: Settings, flow_name: str, run_name: str, failed_sources: list[str]) -> None:
    """A run that completed with some sources failed: the operator hears of it as of a failure (the
    flow itself completed, so Prefect's ``on_failure`` hook does not fire). Never raises."""
    message = (
        f"afterclick flow {flow_name!r} run {run_name!r} partial: {len(failed_sources)} source(s) failed "
        f"({', '.join(failed_sources)}); the others landed and the snapshot was published"
    )
    _notify(settings, message, flow_name, run_name, "Partial", "partial: sources failed")
