"""The startup warnings name every convenience that weakens the defaults (issue 13 item 9)."""

from __future__ import annotations

import logging

import pytest

from medialayer.settings import Settings


def _warnings(caplog: pytest.LogCaptureFixture, **kw: object) -> str:
    with caplog.at_level(logging.WARNING, logger="medialayer.settings"):
        Settings(**kw).warn_about_conveniences()  # type: ignore[arg-type]
    return "\n".join(r.getMessage() for r in caplog.records)


def test_allow_listed_host_names_are_called_out_as_trusting_dns(caplog: pytest.LogCaptureFixture) -> None:
    text = _warnings(caplog, allow_private_hosts="media.test, 127.0.0.1:9000, [::1]:8080, ::1, nas:81, 10.0.0.5")
    assert "MEDIALAYER_ALLOW_PRIVATE_HOSTS is set" in text
    names_line = next(line for line in text.splitlines() if "host NAMES" in line)
    assert "media.test" in names_line and "nas:81" in names_line
    assert "DNS is trusted" in names_line and "test-only" in names_line
    for literal in ("127.0.0.1:9000", "[::1]:8080", "10.0.0.5"):
        assert literal not in names_line


def test_ip_literal_entries_only_get_the_general_warning(caplog: pytest.LogCaptureFixture) -> None:
    text = _warnings(caplog, allow_private_hosts="127.0.0.1:9000,[::1]:8080,::1,127.1")
    assert "MEDIALAYER_ALLOW_PRIVATE_HOSTS is set" in text
    assert "host NAMES" not in text
