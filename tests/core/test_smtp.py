"""Opening an SMTP session from settings."""

from __future__ import annotations

import pytest

from afterclick import smtp
from afterclick.errors import SettingsError
from afterclick.settings import SmtpSettings


def test_connecting_without_a_configured_server_names_the_missing_setting():
    # smtplib would return an unconnected client for no host, failing later on the first send
    with pytest.raises(SettingsError, match=r"smtp\.host"):
        smtp.connect(SmtpSettings(host=None))
