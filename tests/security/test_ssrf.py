"""SSRF: every way of pointing the fetcher at an internal address is refused with ``invalid_url`` — through
the real HTTP API, with a fake resolver injected — and no connection is ever made to the target.

The "target" is a loopback server playing an internal service (metadata endpoint, Lambda runtime API on
127.0.0.1:9001); its port appears in every loopback vector, so a policy bug would show up as a logged
request. Non-loopback vectors are caught twice: the policy must refuse them, and the recorder intercepts
(never dials) any connect to a non-loopback address. The suite's own guard is a third net underneath.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from medialayer.api import build_app
from medialayer.errors import UnsupportedMedia
from medialayer.ffmpeg import AUDIO_DEMUXERS, VIDEO_DEMUXERS, ffmpeg_exe, run_ffmpeg
from medialayer.settings import Settings
from tests.security.support import (
    PUBLIC_V4,
    PUBLIC_V6,
    ConnectRecorder,
    EchoComparer,
    fake_resolver,
    leftovers,
    policy,
)
from tests.support.apiserver import post_json, running
from tests.support.media import jpeg_bytes
from tests.support.mediaserver import MediaServer, Route

# --- vectors ({p} = the internal target's port) -----------------------------------------------------

LOOPBACK = [
    "http://127.0.0.1:{p}/a.jpg",  # loopback itself; only the origin's port is allow-listed
    "http://127.1:{p}/a.jpg",
    "http://127.0.1:{p}/a.jpg",
    "http://2130706433:{p}/a.jpg",
    "http://0x7f000001:{p}/a.jpg",
    "http://0x7f.0.0.1:{p}/a.jpg",
    "http://017700000001:{p}/a.jpg",
    "http://0177.0.0.1:{p}/a.jpg",
    "http://127.000.000.001:{p}/a.jpg",
    "http://127.255.255.254:{p}/a.jpg",
    "http://[::1]:{p}/a.jpg",
    "http://[0:0:0:0:0:0:0:1]:{p}/a.jpg",
    "http://[::ffff:127.0.0.1]:{p}/a.jpg",
    "http://[::ffff:7f00:1]:{p}/a.jpg",
    "http://[::127.0.0.1]:{p}/a.jpg",  # IPv4-compatible (deprecated) form
    "http://0.0.0.0:{p}/a.jpg",  # Linux connects 0.0.0.0 to the local host
    "http://0:{p}/a.jpg",
    "http://[::]:{p}/a.jpg",
    "http://localhost:{p}/a.jpg",
    "http://localhost.:{p}/a.jpg",
    "http://LocalHost:{p}/a.jpg",
    "http://127.0.0.1.nip.io:{p}/a.jpg",  # a public-looking name that resolves to loopback
    "HTTP://127.0.0.1:{p}/a.jpg",
    "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11:{p}/a.jpg",  # full-width digits: NFKC -> 127.0.0.1
    "http://127\u30020\u30020\u30021:{p}/a.jpg",  # ideographic full stops are label separators in IDNA
    "http://\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3:{p}/a.jpg",  # circled letters -> localhost
    "http://127.0.0.1:{p}/a.jpg?x=http://media.example.com/",
]

PRIVATE = [
    "http://10.0.0.1/a.jpg",
    "http://10.255.255.255/a.jpg",
    "http://172.16.0.1/a.jpg",
    "http://172.31.255.254/a.jpg",
    "http://192.168.0.1/a.jpg",
    "http://100.64.0.1/a.jpg",  # carrier-grade NAT (AWS VPC endpoints live nearby)
    "http://100.127.255.254/a.jpg",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://169.254.170.2/v2/credentials",  # ECS task credentials
    "http://2852039166/latest/meta-data/",  # 169.254.169.254 as one integer
    "http://0xa9.0xfe.0xa9.0xfe/latest/meta-data/",
    "http://0251.0376.0251.0376/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",  # EC2 IMDS over IPv6
    "http://[fe80::1]/a.jpg",
    "http://[fe80::a9fe:a9fe%25eth0]/a.jpg",
    "http://[fc00::1]/a.jpg",
    "http://192.0.0.170/a.jpg",  # NAT64 discovery
    "http://198.18.0.1/a.jpg",  # benchmarking
    "http://224.0.0.1/a.jpg",
    "http://255.255.255.255/a.jpg",
    "http://240.0.0.1/a.jpg",
    "http://[ff02::1]/a.jpg",
    "http://[2001:db8::1]/a.jpg",
]

WRAPPED = [
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "http://[::ffff:a9fe:a9fe]/latest/meta-data/",
    "http://[::ffff:10.0.0.1]/a.jpg",
    "http://[::a9fe:a9fe]/latest/meta-data/",
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",  # NAT64 well-known prefix
    "http://[64:ff9b::7f00:1]/a.jpg",
    "http://[64:ff9b::10.0.0.1]/a.jpg",
    "http://[64:ff9b:1::a9fe:a9fe]/a.jpg",  # local-use NAT64 prefix
    "http://[2002:a9fe:a9fe::1]/latest/meta-data/",  # 6to4 of 169.254.169.254
    "http://[2002:7f00:1::1]/a.jpg",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/a.jpg",  # Teredo
]

#: public-looking names and what the (fake) DNS answers for them
NAMES: dict[str, list[str]] = {
    "media.attacker.example": ["10.0.0.5"],
    "mixed.attacker.example": [PUBLIC_V4, "127.0.0.1"],  # refuse if ANY address is internal
    "mixed6.attacker.example": [PUBLIC_V6, "::1"],
    "mapped.attacker.example": ["::ffff:127.0.0.1"],
    "imds.attacker.example": ["169.254.169.254"],
    "imds6.attacker.example": ["fd00:ec2::254"],
    "zone.attacker.example": ["fe80::1%eth0"],
    "nat64.attacker.example": ["64:ff9b::a9fe:a9fe"],
    "sixtofour.attacker.example": ["2002:a9fe:a9fe::"],
    "cgnat.attacker.example": ["100.100.100.200"],  # Alibaba metadata
    "metadata.google.internal": ["169.254.169.254"],
    "localhost": ["127.0.0.1", "::1"],
    "127.0.0.1.nip.io": ["127.0.0.1"],
    "garbage.attacker.example": ["not-an-ip"],
}

#: IPv6 outside real global unicast that Python 3.11's ``is_global`` calls global (issue 13 item 4), then a
#: few already refused that newer Pythons (gh-113171) call global, pinned as guards. Address -> what it is.
NON_GLOBAL6 = {
    "fec0::1": "site-local (deprecated)",
    "fec0::a9fe:a9fe": "site-local",
    "::ffff:0:10.0.0.5": "SIIT IPv4-translated 10.0.0.5",
    "::ffff:0:a9fe:a9fe": "SIIT IPv4-translated 169.254.169.254",
    "::ffff:0:7f00:1": "SIIT IPv4-translated 127.0.0.1",
    "3fff::1": "documentation (RFC 9637)",
    "5f00::1": "SRv6 SIDs",
    "100:0:0:1::1": "dummy prefix (RFC 9780)",
    "100:1::1": "reserved 100::/8",
    "1::1": "reserved ::/8",
    "4000::1": "reserved 4000::/3",
    "e000::1": "reserved e000::/4",
    # guards: refused before issue 13 too
    "64:ff9b::a00:5": "NAT64 of 10.0.0.5",
    "100::1": "discard-only",
    "2001:db8::1": "documentation",
    "2001:20::1": "ORCHIDv2",
    "2001:30::1": "drone remote ID",
}
NON_GLOBAL6_LITERALS = [f"http://[{a}]:{{p}}/a.jpg" for a in NON_GLOBAL6]
#: hosts-file style names (single label, ``.lan``) answering one of them, and AAAA answers next to a public A
NAMES.update({f"nas{i}.lan": [a] for i, a in enumerate(NON_GLOBAL6)})
NAMES.update({f"aaaa{i}.attacker.example": [PUBLIC_V4, a] for i, a in enumerate(NON_GLOBAL6)})
NAMES["intranet"] = ["fec0::1", "::ffff:0:10.0.0.5"]
BY_NAME = [f"http://{name}:{{p}}/a.jpg" for name in NAMES if name not in ("localhost", "127.0.0.1.nip.io")]

USERINFO = [
    "http://public@127.0.0.1:{p}/a.jpg",
    "http://media.example.com@127.0.0.1:{p}/a.jpg",
    "http://media.example.com:80@169.254.169.254/latest/meta-data/",
    "http://user:pass@[::1]:{p}/a.jpg",
    "http://media.example.com%40@127.0.0.1:{p}/a.jpg",
    "http://127.0.0.1:{p}\\@media.example.com/a.jpg",  # backslash: parsers disagree, so refused
    "http://media.example.com\\.127.0.0.1:{p}/a.jpg",
    "http://127.0.0.1:{p}/a.jpg\r\nHost: media.example.com",  # header injection
    "http://127.0.0.1:{p}/ a.jpg",
]

SCHEMES = [
    "file:///etc/passwd",
    "file://127.0.0.1/etc/passwd",
    "file://localhost/proc/self/environ",
    "gopher://127.0.0.1:{p}/_GET%20/a.jpg",
    "ftp://127.0.0.1:{p}/a.jpg",
    "ftp://media.example.com/a.jpg",
    "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ==",
    "dict://127.0.0.1:{p}/info",
    "ldap://127.0.0.1:{p}/",
    "tftp://127.0.0.1/a",
    "jar:http://127.0.0.1:{p}/a.jar!/",
    "netdoc:///etc/passwd",
    "ws://127.0.0.1:{p}/",
    "javascript:alert(1)",
    "//127.0.0.1:{p}/a.jpg",  # scheme-relative
    "http:/127.0.0.1:{p}/a.jpg",
    "http:127.0.0.1:{p}/a.jpg",
    "/etc/passwd",
    "127.0.0.1:{p}/a.jpg",
    "http://",
    "http:///a.jpg",
    "http://:{p}/a.jpg",
]

DIRECT = LOOPBACK + PRIVATE + WRAPPED + NON_GLOBAL6_LITERALS + BY_NAME + USERINFO + SCHEMES
#: What a redirect may point at: everything above that is an absolute http(s) or other-scheme URL.
REDIRECT_TARGETS = (
    LOOPBACK + PRIVATE + WRAPPED + NON_GLOBAL6_LITERALS + BY_NAME + USERINFO[:5] + SCHEMES[:14] + ["//127.1:{p}/a.jpg"]
)


# --- fixtures ------------------------------------------------------------------------------------------


class Rig:
    """The origin (allow-listed), the internal target (never reached) and the API in front of them."""

    def __init__(self, origin: MediaServer, target: MediaServer, base: str, temp_dir: Path) -> None:
        self.origin, self.target, self.base, self.temp_dir = origin, target, base, temp_dir

    def fill(self, template: str) -> str:
        return template.replace("{p}", str(self.target.port))

    def post(self, medium: str, source: str, target: str) -> tuple[int, Any]:
        return post_json(f"{self.base}/{medium}/match", {"source_url": source, "target_url": target}, timeout=30)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    temp_dir = tmp_path_factory.mktemp("ssrf-dl")
    with MediaServer() as origin, MediaServer() as target:
        origin.add("/a.jpg", Route(body=jpeg_bytes(1)))
        target.add("/a.jpg", Route(body=jpeg_bytes(1)))
        target.add("/latest/meta-data/", Route(body=b"ami-id\ninstance-id\n"))
        table: dict[str, Any] = {name: addrs for name, addrs in NAMES.items()}
        table["media.example.com"] = [PUBLIC_V4]
        pol = policy(allowlist=[origin.host], resolver=fake_resolver(table), temp_dir=str(temp_dir))
        settings = Settings(auth_disabled=True, max_concurrent_matches=64)
        app = build_app(
            {"image": EchoComparer, "audio": lambda: EchoComparer("audio"), "video": lambda: EchoComparer("video")},
            settings=settings,
            policy=pol,
        )
        with running(app) as base:
            yield Rig(origin, target, base, temp_dir)


@pytest.fixture
def fresh(rig: Rig) -> Iterator[Rig]:
    rig.origin.requests.clear()
    rig.target.requests.clear()
    yield rig
    assert rig.target.requests == [], "the internal target was reached"
    assert leftovers(rig.temp_dir) == []


@pytest.fixture(autouse=True)
def _only_public_off_loopback(request: pytest.FixtureRequest) -> Iterator[None]:
    """Suite-wide: a test that records connects may dial loopback and the fake resolvers' public addresses
    (intercepted, never sent) — nothing else. A connect to any non-global address fails the test."""
    rec = request.getfixturevalue("recorder") if "recorder" in request.fixturenames else None
    yield
    if rec is not None:
        stray = [c for c in rec.off_loopback() if c[0] not in (PUBLIC_V4, PUBLIC_V6)]
        assert stray == [], f"connected to non-global addresses: {stray}"


def _api_port(rig: Rig) -> int:
    return int(rig.base.rsplit(":", 1)[1])


def _fetch_connects(rec: ConnectRecorder, rig: Rig) -> list[tuple[str, int]]:
    """Connects made by the server's fetcher (the test client's own connects to the API excluded)."""
    return [c for c in rec.connects if c[1] != _api_port(rig)]


# --- direct vectors --------------------------------------------------------------------------------


@pytest.mark.parametrize("template", DIRECT)
def test_direct_vector_refused_without_connecting(fresh: Rig, recorder: ConnectRecorder, template: str) -> None:
    url = fresh.fill(template)
    good = fresh.origin.url("/a.jpg")
    for source, target in ((url, good), (good, url)):
        status, body = fresh.post("image", source, target)
        assert (status, body["error"]["code"]) == (400, "invalid_url"), (url, body)
        assert "127.0.0.1" not in body["error"]["message"] and "169.254" not in body["error"]["message"]
    assert _fetch_connects(recorder, fresh) == []  # both URLs are vetted before anything is dialled
    assert fresh.origin.requests == []
    assert recorder.lookups == []  # the system resolver is never asked: only the injected one


#: every vector behind a 302; every redirect status on a representative subset
#: (non-Latin-1 Locations cannot be sent by http.server; test_utf8_redirect_location sends them raw)
REDIRECT_CASES = [(302, t) for t in REDIRECT_TARGETS if t.isascii()] + [
    (status, t)
    for status in (301, 303, 307, 308)
    for t in (LOOPBACK[1], PRIVATE[7], WRAPPED[4], BY_NAME[0], SCHEMES[0], *NON_GLOBAL6_LITERALS)
]


@pytest.mark.parametrize(("status", "template"), REDIRECT_CASES)
def test_redirect_to_vector_refused(fresh: Rig, recorder: ConnectRecorder, template: str, status: int) -> None:
    hop = fresh.origin.add(f"/r{status}", Route(status=status, headers={"Location": fresh.fill(template)}))
    # a two-hop chain through the allow-listed origin before the bad hop
    first = fresh.origin.add(f"/start{status}", Route(status=302, headers={"Location": f"/r{status}"}))
    got, body = fresh.post("image", fresh.origin.url("/a.jpg"), first)
    assert (got, body["error"]["code"]) == (400, "invalid_url"), (template, body)
    assert hop in [fresh.origin.url(p) for p in fresh.origin.requests]
    assert {c[1] for c in _fetch_connects(recorder, fresh)} <= {fresh.origin.port}


@pytest.mark.parametrize("template", [t for t in LOOPBACK if not t.isascii()])
def test_utf8_redirect_location(rig: Rig, recorder: ConnectRecorder, template: str) -> None:
    """A Location header of raw UTF-8 bytes (full-width digits, ideographic dots, circled letters) that
    normalises to loopback: refused or unresolvable, never fetched."""
    from tests.security.rawserver import RawServer, send_then_close

    location = rig.fill(template).encode("utf-8")
    raw = RawServer(send_then_close(b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n\r\n"))
    table = {"localhost": ["127.0.0.1"]}
    pol = policy(allowlist=[raw.host], resolver=fake_resolver(table), temp_dir=str(rig.temp_dir))
    rig.target.requests.clear()
    with (
        raw.running(),
        running(build_app({"image": EchoComparer}, settings=Settings(auth_disabled=True), policy=pol)) as base,
    ):
        status, body = post_json(f"{base}/image/match", {"source_url": raw.url(), "target_url": raw.url()})
    assert status in (400, 422) and body["error"]["code"] in ("invalid_url", "fetch_failed"), body
    assert rig.target.requests == []
    assert [c for c in recorder.connects if c[1] == rig.target.port] == []


# --- DNS rebinding ---------------------------------------------------------------------------------


def _rebinding_app(origin: MediaServer, table: dict[str, Any], temp_dir: Path, calls: list[str]) -> Any:
    pol = policy(allowlist=[origin.host], resolver=fake_resolver(table, calls), temp_dir=str(temp_dir))
    return build_app({"image": EchoComparer}, settings=Settings(auth_disabled=True), policy=pol)


def test_rebinding_between_checks_is_refused(
    origin: MediaServer, target: MediaServer, recorder: ConnectRecorder, temp_dir: Path
) -> None:
    """First answer public, every later answer loopback: the re-vetting of each hop catches the swap."""
    calls: list[str] = []
    table = {"rebind.attacker.example": lambda n: [PUBLIC_V4] if n == 0 else ["127.0.0.1"]}
    origin.add("/a.jpg", Route(body=jpeg_bytes(1)))
    with running(_rebinding_app(origin, table, temp_dir, calls)) as base:
        url = f"http://rebind.attacker.example:{target.port}/a.jpg"
        status, body = post_json(f"{base}/image/match", {"source_url": origin.url("/a.jpg"), "target_url": url})
    assert (status, body["error"]["code"]) == (400, "invalid_url")
    assert calls.count("rebind.attacker.example") >= 2
    assert target.requests == [] and recorder.off_loopback() == [] and recorder.lookups == []
    assert leftovers(temp_dir) == []


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_connects_only_to_the_vetted_address(
    origin: MediaServer, target: MediaServer, recorder: ConnectRecorder, temp_dir: Path, scheme: str
) -> None:
    """The resolver always answers public; the attacker's DNS (system getaddrinfo) would answer loopback.

    The fetcher must dial exactly the vetted addresses (intercepted here, never sent) and never resolve the
    name again, so the internal target is never reached.
    """
    calls: list[str] = []
    table = {"rebind.attacker.example": [PUBLIC_V4, PUBLIC_V6]}
    origin.add("/a.jpg", Route(body=jpeg_bytes(1)))
    with running(_rebinding_app(origin, table, temp_dir, calls)) as base:
        url = f"{scheme}://rebind.attacker.example:{target.port}/a.jpg"
        status, body = post_json(f"{base}/image/match", {"source_url": origin.url("/a.jpg"), "target_url": url})
    assert (status, body["error"]["code"]) == (422, "fetch_failed")
    assert recorder.off_loopback() == [(PUBLIC_V4, target.port), (PUBLIC_V6, target.port)]
    assert recorder.lookups == [], "the fetcher resolved the host name itself"
    assert target.requests == []
    assert leftovers(temp_dir) == []


def test_allowlisted_name_is_fetched_from_its_vetted_address(
    origin: MediaServer, recorder: ConnectRecorder, temp_dir: Path
) -> None:
    """Positive control: an allow-listed name is fetched from the address the resolver gave, not re-resolved."""
    origin.add("/a.jpg", Route(body=jpeg_bytes(1)))
    table = {"media.local": ["127.0.0.1"]}
    pol = policy(allowlist=[f"media.local:{origin.port}"], resolver=fake_resolver(table), temp_dir=str(temp_dir))
    recorder.rebind_to = "127.0.0.2"  # a re-resolution would dial an address nobody listens on
    app = build_app({"image": EchoComparer}, settings=Settings(auth_disabled=True), policy=pol)
    url = f"http://media.local:{origin.port}/a.jpg"
    with running(app) as base:
        status, body = post_json(f"{base}/image/match", {"source_url": url, "target_url": url})
    assert status == 200 and body["match"] is True
    assert recorder.lookups == []
    assert ("127.0.0.1", origin.port) in recorder.connects


# --- playlists: ffmpeg must never fetch --------------------------------------------------------------


def _playlists(target: MediaServer) -> dict[str, bytes]:
    seg = target.url("/seg.ts")
    hls = f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n{seg}\n#EXT-X-ENDLIST\n".encode()
    concat = f"ffconcat version 1.0\nfile '{seg}'\n".encode()
    return {
        "hls": hls,
        "concat": concat,
        # first bytes that sniff as MP4 / MP3, the rest a playlist: passes the sniffer, must fail in ffmpeg
        "ftyp-hls": b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\n" + hls,
        "id3-hls": b"ID3\x03\x00\x00\x00\x00\x00\x00" + hls,
        "ftyp-concat": b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\n" + concat,
    }


@pytest.mark.parametrize("kind", ["hls", "concat", "ftyp-hls", "id3-hls", "ftyp-concat"])
def test_playlist_disguised_as_media_through_the_api(
    origin: MediaServer, target: MediaServer, temp_dir: Path, tmp_path: Path, kind: str
) -> None:
    """A playlist served as ``movie.mp4`` to the real video and audio engines: refused, nothing fetched."""
    from tests.security.support import real_comparer
    from video_match.engine import VideoEngine
    from video_match.fanout import build_comparer

    body = _playlists(target)[kind]
    origin.add("/movie.mp4", Route(body=body, headers={"Content-Type": "video/mp4"}))
    origin.add("/song.mp3", Route(body=body, headers={"Content-Type": "audio/mpeg"}))
    stage = Settings(staging_dir=str(tmp_path / "stage"), local_workers=1)
    comparers = {
        "video": lambda: build_comparer(stage, engine=VideoEngine(use_audio=False)),
        "audio": real_comparer("audio"),
    }
    pol = policy(allowlist=[origin.host], temp_dir=str(temp_dir))
    with running(build_app(comparers, settings=Settings(auth_disabled=True), policy=pol)) as base:
        for medium, path in (("video", "/movie.mp4"), ("audio", "/song.mp3")):
            url = origin.url(path)
            status, resp = post_json(f"{base}/{medium}/match", {"source_url": url, "target_url": url})
            assert (status, resp["error"]["code"]) == (415, "unsupported_media"), (medium, kind, resp)
    assert target.requests == []
    assert leftovers(temp_dir) == [] and leftovers(tmp_path / "stage") == []


@pytest.mark.parametrize("kind", ["hls", "concat", "ftyp-hls", "id3-hls"])
@pytest.mark.parametrize("demuxers", [VIDEO_DEMUXERS, AUDIO_DEMUXERS, ("hls", "concat", "mov,mp4,m4a,3gp,3g2,mj2")])
def test_run_ffmpeg_on_local_playlist_fetches_nothing(
    target: MediaServer, tmp_path: Path, kind: str, demuxers: tuple[str, ...]
) -> None:
    """Directly through ``run_ffmpeg`` on a local playlist file. The last case even whitelists the playlist
    demuxers: the ``-protocol_whitelist file`` layer alone must still stop the fetch."""
    path = tmp_path / "movie.mp4"
    path.write_bytes(_playlists(target)[kind])
    with pytest.raises(UnsupportedMedia):
        run_ffmpeg(path, ["-f", "null", "-"], demuxers=demuxers, timeout_s=20)
    assert target.requests == []


def test_run_ffmpeg_treats_a_url_as_a_local_path(origin: MediaServer, target: MediaServer) -> None:
    """Even if a caller passed a URL as the "path", run_ffmpeg prefixes ``file:`` and fetches nothing."""
    url = origin.add("/movie.mp4", Route(body=_playlists(target)["hls"]))
    with pytest.raises(UnsupportedMedia):
        run_ffmpeg(Path(url), ["-f", "null", "-"], demuxers=VIDEO_DEMUXERS, timeout_s=20)
    assert origin.requests == [] and target.requests == []


def test_unprotected_ffmpeg_would_fetch(origin: MediaServer, target: MediaServer) -> None:
    """Control: handing the playlist's URL to a bare ffmpeg DOES fetch the internal segment (GUIDE §3) —
    so the tests above test something real."""
    target.add("/seg.ts", Route(status=404))
    # (this ffmpeg probes HLS only under a playlist name or MIME type; the API never lets ffmpeg see either)
    url = origin.add("/movie.m3u8", Route(body=_playlists(target)["hls"]))
    subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-loglevel", "quiet", "-i", url, "-f", "null", "-"],
        timeout=30,
        check=False,
        capture_output=True,
    )
    assert target.requests, "bare ffmpeg did not follow the playlist; the control is broken"
