"""The safe fetcher against scripted loopback servers: caps, timeouts, redirects, types, cleanup."""

from __future__ import annotations

from pathlib import Path

import pytest

from medialayer.errors import FetchFailed, FileTooLarge, InvalidUrl, UnsupportedMedia
from medialayer.fetcher import FetchPolicy, fetch_pair, fetch_to_file
from tests.support.media import jpeg_bytes
from tests.support.mediaserver import MediaServer, Route


@pytest.fixture
def server():
    with MediaServer() as srv:
        yield srv


def policy_for(server: MediaServer, tmp_path: Path, **kw) -> FetchPolicy:
    base = dict(allowlist=frozenset({server.host}), temp_dir=str(tmp_path / "dl"), total_timeout_s=5, read_timeout_s=1)
    base.update(kw)
    return FetchPolicy(**base)


def leftovers(tmp_path: Path) -> list[Path]:
    d = tmp_path / "dl"
    return list(d.iterdir()) if d.exists() else []


def test_downloads_to_temp_file_and_pair_cleans_up(server, tmp_path):
    body = jpeg_bytes(1)
    a = server.add("/a.jpg", Route(body=body))
    b = server.add("/b.jpg", Route(body=jpeg_bytes(2), send_length=False))
    pol = policy_for(server, tmp_path)
    with fetch_pair(a, b, max_bytes=10**7, policy=pol, medium="image") as (pa, pb):
        assert pa.read_bytes() == body
        assert pb.stat().st_size > 0
    assert leftovers(tmp_path) == []


def test_loopback_refused_without_allowlist(server, tmp_path):
    url = server.add("/a.jpg", Route(body=jpeg_bytes()))
    with pytest.raises(InvalidUrl):
        fetch_to_file(url, max_bytes=10**7, policy=policy_for(server, tmp_path, allowlist=frozenset()))
    assert server.requests == []


def test_redirect_to_refused_address(server, tmp_path):
    url = server.add("/r", Route(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}))
    with pytest.raises(InvalidUrl):
        fetch_to_file(url, max_bytes=10**7, policy=policy_for(server, tmp_path))


def test_redirect_to_loopback_other_port_refused(server, tmp_path):
    url = server.add("/r", Route(status=301, headers={"Location": "http://127.0.0.1:1/x"}))
    with pytest.raises(InvalidUrl):
        fetch_to_file(url, max_bytes=10**7, policy=policy_for(server, tmp_path))


def test_redirects_followed_and_bounded(server, tmp_path):
    server.add("/img", Route(body=jpeg_bytes()))
    url = server.add("/r1", Route(status=307, headers={"Location": "/img"}))
    path = fetch_to_file(url, max_bytes=10**7, policy=policy_for(server, tmp_path), medium="image")
    path.unlink()
    loop = server.add("/loop", Route(status=302, headers={"Location": "/loop"}))
    with pytest.raises(FetchFailed, match="redirects"):
        fetch_to_file(loop, max_bytes=10**7, policy=policy_for(server, tmp_path))
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("status", [404, 500])
def test_http_errors(server, tmp_path, status):
    url = server.add("/x", Route(status=status, body=b"nope"))
    with pytest.raises(FetchFailed, match=str(status)):
        fetch_to_file(url, max_bytes=10**7, policy=policy_for(server, tmp_path))


def test_size_cap_with_and_without_content_length(server, tmp_path):
    big = jpeg_bytes() + b"\0" * 300_000
    with_len = server.add("/big", Route(body=big))
    without = server.add("/big2", Route(body=big, send_length=False))
    for url in (with_len, without):
        with pytest.raises(FileTooLarge):
            fetch_to_file(url, max_bytes=100_000, policy=policy_for(server, tmp_path))
    assert leftovers(tmp_path) == []


def test_lying_content_length_is_still_capped(server, tmp_path):
    url = server.add("/liar", Route(body=jpeg_bytes() + b"\0" * 300_000, send_length=False))
    with pytest.raises(FileTooLarge):
        fetch_to_file(url, max_bytes=50_000, policy=policy_for(server, tmp_path))


def test_slow_server_times_out(server, tmp_path):
    stall = server.add("/stall", Route(body=jpeg_bytes(), delay_after_headers_s=3))
    with pytest.raises(FetchFailed):
        fetch_to_file(stall, max_bytes=10**7, policy=policy_for(server, tmp_path, read_timeout_s=0.5))
    drip = server.add("/drip", Route(body=jpeg_bytes() * 4, drip_bytes_per_s=4096))
    with pytest.raises(FetchFailed):
        fetch_to_file(drip, max_bytes=10**7, policy=policy_for(server, tmp_path, total_timeout_s=1.0))
    assert leftovers(tmp_path) == []


def test_connection_dropped_mid_body(server, tmp_path):
    url = server.add("/drop", Route(body=jpeg_bytes() + b"\0" * 100_000, drop_after_bytes=5000))
    with pytest.raises(FetchFailed):
        fetch_to_file(url, max_bytes=10**7, policy=policy_for(server, tmp_path))
    assert leftovers(tmp_path) == []


def test_wrong_medium_stops_early(server, tmp_path):
    url = server.add("/page.jpg", Route(body=b"<html><body>not an image</body></html>" * 10))
    with pytest.raises(UnsupportedMedia):
        fetch_to_file(url, max_bytes=10**7, policy=policy_for(server, tmp_path), medium="image")
    hls = server.add("/movie.mp4", Route(body=b"#EXTM3U\n#EXT-X-TARGETDURATION:10\nhttp://127.0.0.1:1/x.ts\n" * 3))
    with pytest.raises(UnsupportedMedia):
        fetch_to_file(hls, max_bytes=10**7, policy=policy_for(server, tmp_path), medium="video")
    assert leftovers(tmp_path) == []


def test_pair_failure_removes_the_other_file(server, tmp_path):
    ok = server.add("/ok.jpg", Route(body=jpeg_bytes()))
    bad = server.add("/missing.jpg", Route(status=404))
    with pytest.raises(FetchFailed):
        with fetch_pair(ok, bad, max_bytes=10**7, policy=policy_for(server, tmp_path), medium="image"):
            pass
    assert leftovers(tmp_path) == []


def test_pair_vets_both_before_connecting(server, tmp_path):
    ok = server.add("/ok.jpg", Route(body=jpeg_bytes()))
    with pytest.raises(InvalidUrl):
        with fetch_pair(ok, "http://10.0.0.1/x.jpg", max_bytes=10**7, policy=policy_for(server, tmp_path)):
            pass
    assert server.requests == []
