"""MEDIALAYER_ALLOW_PRIVATE_HOSTS entries (issue 16, item 9): a URL entry used to be kept as written and never
matched; now an origin URL is read as ``host:port`` and anything else refuses to start, with the reason."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from medialayer.errors import InvalidUrl
from medialayer.fetcher import FetchPolicy, fetch_to_file
from medialayer.settings import Settings
from medialayer.url_policy import normalise_allow_entry, vet_url
from tests.support.media import jpeg_bytes
from tests.support.mediaserver import MediaServer, Route


@pytest.mark.parametrize(
    ("entry", "read_as"),
    [
        ("http://127.0.0.1:9000", "127.0.0.1:9000"),
        ("HTTP://127.0.0.1:9000/", "127.0.0.1:9000"),
        ("http://127.0.0.1", "127.0.0.1:80"),  # a URL always names a port: its scheme's default
        ("https://nas.local", "nas.local:443"),
        ("http://[::1]:8080", "[::1]:8080"),
        ("127.0.0.1:9000", "127.0.0.1:9000"),
        ("[::1]:9000", "[::1]:9000"),
        ("[::1]", "::1"),
        ("::1", "::1"),
        ("Localhost.:81", "localhost:81"),
        ("media.test", "media.test"),
    ],
)
def test_entries_are_read_as_vet_url_compares_them(entry: str, read_as: str) -> None:
    assert normalise_allow_entry(entry) == read_as


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:9000/a.jpg", True),
        ("http://127.0.0.1:9001/a.jpg", False),  # the origin, not the host: other ports stay refused
        ("http://[::1]:8080/a.jpg", True),
        ("http://[::1]:8081/a.jpg", False),
    ],
)
def test_a_url_entry_allows_exactly_its_origin(url: str, allowed: bool) -> None:
    allowlist = Settings(allow_private_hosts="http://127.0.0.1:9000, http://[::1]:8080/").private_host_allowlist
    if allowed:
        assert vet_url(url, allowlist=allowlist).url == url
    else:
        with pytest.raises(InvalidUrl):
            vet_url(url, allowlist=allowlist)


def test_a_url_entry_lets_the_fetcher_download_from_that_origin(tmp_path) -> None:
    """End to end on loopback: ``MEDIALAYER_ALLOW_PRIVATE_HOSTS=http://127.0.0.1:PORT`` fetches."""
    body = jpeg_bytes(3, size=(64, 48))
    with MediaServer() as media:
        url = media.add("/a.jpg", Route(body=body))
        settings = Settings(allow_private_hosts=f"http://{media.host}", temp_dir=str(tmp_path))
        path = fetch_to_file(url, max_bytes=10**6, policy=FetchPolicy.from_settings(settings))
        assert path.read_bytes() == body and media.requests == ["/a.jpg"]


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("http://127.0.0.1:9000/media/", "path or query"),
        ("http://127.0.0.1:9000/?x=1", "path or query"),
        ("http://user@127.0.0.1:9000", "user name"),
        ("ftp://127.0.0.1:21", "not http or https"),
        ("127.0.0.1:99999", "not a port"),
        ("127.0.0.1:", "not a port"),
        ("10.0.0.0/8", "not a host name or IP address"),
        ("*", "not a host name or IP address"),
        ("[::1]9000", "after the IPv6 address"),
        ("[not-v6]:80", "not an IPv6 address"),
    ],
)
def test_an_entry_that_could_never_match_refuses_to_start(entry: str, reason: str) -> None:
    with pytest.raises(ValidationError) as info:
        Settings(allow_private_hosts=f"127.0.0.1:8000, {entry}")
    message = str(info.value)
    assert f"MEDIALAYER_ALLOW_PRIVATE_HOSTS entry {entry!r}" in message and reason in message
    assert "127.0.0.1:9000" in message  # the form to write instead


def test_the_environment_is_checked_at_start_up_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIALAYER_ALLOW_PRIVATE_HOSTS", "http://127.0.0.1:9000/media")
    with pytest.raises(ValidationError, match="path or query"):
        Settings()


def test_the_local_server_refuses_to_start_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from medialayer_local.server import load_settings

    monkeypatch.setenv("MEDIALAYER_ALLOW_PRIVATE_HOSTS", "http://127.0.0.1:9000/media")
    with caplog.at_level(logging.ERROR, logger="medialayer.server"), pytest.raises(SystemExit) as info:
        load_settings()
    assert info.value.code == 2
    text = caplog.text
    assert "refusing to start" in text and "'http://127.0.0.1:9000/media'" in text and "path or query" in text
    assert "validation error" not in text  # the reason, not pydantic's report


def test_a_rewritten_entry_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="medialayer.settings"):
        Settings(allow_private_hosts="http://127.0.0.1:9000,127.0.0.1:9001").warn_about_conveniences()
    rewritten = [r.getMessage() for r in caplog.records if "is read as" in r.getMessage()]
    assert rewritten == [
        "MEDIALAYER_ALLOW_PRIVATE_HOSTS entry 'http://127.0.0.1:9000' is read as '127.0.0.1:9000' "
        "(host:port, not a URL)"
    ]
