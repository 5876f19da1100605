"""Your own files in the first minute (issue 16, item 3): ``medialayer serve-dir DIR`` serves one folder
read-only on loopback and allow-lists exactly its ``127.0.0.1:port``; a refused loopback URL on the local
server names serve-dir and the setting (the deployed API's message does not)."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import pytest

from medialayer_local.cli import main as cli_main
from medialayer_local.servedir import FolderServer, resolve_in
from medialayer_local.server import with_folder
from medialayer_local.settings import LocalSettings
from tests.local.localserver import LocalServer, get_json, local_server
from tests.support.apiserver import post_json, running
from tests.support.media import jpeg_bytes
from tests.support.mediaserver import MediaServer, Route

PHOTO = jpeg_bytes(21, size=(480, 360))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """``shared/`` is served; ``outside.txt`` and ``elsewhere/`` are beside it, reachable only by links."""
    root = tmp_path / "shared"
    (root / "sub").mkdir(parents=True)
    (root / ".hidden").mkdir()
    (root / "a.jpg").write_bytes(PHOTO)
    (root / "sub" / "b copy.jpg").write_bytes(PHOTO)
    (root / "<b>.jpg").write_bytes(PHOTO)
    (root / ".secret").write_text("token")
    (root / ".hidden" / "c.jpg").write_bytes(PHOTO)
    (root / "notes.txt").write_text("not media")
    (tmp_path / "outside.txt").write_text("private")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "d.jpg").write_bytes(PHOTO)
    (root / "link-out").symlink_to(tmp_path / "outside.txt")
    (root / "dir-out").symlink_to(tmp_path / "elsewhere")
    (root / "link-hidden").symlink_to(root / ".secret")
    (root / "link-in.jpg").symlink_to(root / "a.jpg")
    return root


@pytest.mark.parametrize(
    "path",
    [
        "/../outside.txt",
        "/sub/../../outside.txt",
        "/%2e%2e/outside.txt",
        "/..%2foutside.txt",
        "/sub/%2E%2E/%2E%2E/outside.txt",
        "/.secret",
        "/.hidden/c.jpg",
        "/%2ehidden/c.jpg",
        "/link-out",
        "/dir-out/d.jpg",
        "/link-hidden",
        "/a.jpg%00.png",
        "/sub\\..\\..\\outside.txt",
        "/missing.jpg",
        "/%ff.jpg",
    ],
)
def test_nothing_outside_the_folder_or_hidden_in_it_resolves(tree: Path, path: str) -> None:
    assert resolve_in(tree.resolve(), path) is None


@pytest.mark.parametrize(
    ("path", "name"),
    [("/a.jpg", "a.jpg"), ("/sub/b%20copy.jpg", "b copy.jpg"), ("/%61.jpg?x=1", "a.jpg"), ("/link-in.jpg", "a.jpg")],
)
def test_files_inside_resolve(tree: Path, path: str, name: str) -> None:
    found = resolve_in(tree.resolve(), path)
    assert found is not None and found.name == name and found.is_relative_to(tree.resolve())


def _request(server: FolderServer, method: str, path: str, host: str | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host or server.origin)
        conn.putheader("Content-Length", "0")
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_the_folder_server_is_read_only_and_stays_inside(tree: Path) -> None:
    with FolderServer(tree) as server:
        status, headers, body = _request(server, "GET", "/a.jpg")
        assert (status, body, headers["content-type"]) == (200, PHOTO, "image/jpeg")
        status, headers, body = _request(server, "HEAD", "/sub/b%20copy.jpg")
        assert (status, body, headers["content-length"]) == (200, b"", str(len(PHOTO)))
        for method in ("POST", "PUT", "DELETE"):
            status, headers, _ = _request(server, method, "/a.jpg")
            assert (status, headers["allow"]) == (405, "GET, HEAD")
        for path in ("/../outside.txt", "/%2e%2e/outside.txt", "/link-out", "/dir-out/d.jpg", "/.secret"):
            status, _, body = _request(server, "GET", path)
            assert status == 404 and b"private" not in body and b"token" not in body
        assert (tree / "a.jpg").read_bytes() == PHOTO


def test_only_requests_addressed_to_the_folder_server_are_answered(tree: Path) -> None:
    """A page that rebinds its own DNS name to 127.0.0.1 sends its name as Host: refused."""
    with FolderServer(tree) as server:
        assert _request(server, "GET", "/a.jpg", host=f"localhost:{server.port}")[0] == 200
        for host in ("evil.example", f"evil.example:{server.port}", "127.0.0.1", f"127.0.0.1:{server.port + 1}"):
            status, _, body = _request(server, "GET", "/a.jpg", host=host)
            assert status == 403 and body != PHOTO


def test_the_listing_shows_what_is_served_escaped(tree: Path) -> None:
    with FolderServer(tree) as server:
        status, headers, body = _request(server, "GET", "/")
        page = body.decode()
        assert status == 200 and headers["content-security-policy"] == "default-src 'none'"
        assert "&lt;b&gt;.jpg" in page and "<b>.jpg" not in page
        assert 'href="/sub"' in page and 'href="/a.jpg"' in page
        for hidden in (".secret", ".hidden", "link-out", "dir-out", "link-hidden"):
            assert hidden not in page
        listing = server.media_files()
        assert [f.path for f in listing.files] == ["<b>.jpg", "a.jpg", "link-in.jpg", "sub/b copy.jpg"]
        assert listing.files[-1].url == f"http://{server.origin}/sub/b%20copy.jpg"
        assert listing.files[0].media == ["image"] and not listing.truncated


def test_serve_dir_allow_lists_exactly_its_folder(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from medialayer_local.app import create_app

    monkeypatch.setenv("MEDIALAYER_ALLOW_PRIVATE_HOSTS", "127.0.0.1:9")  # what the user set is kept
    with FolderServer(tree) as files, MediaServer() as other:
        other_url = other.add("/a.jpg", Route(body=PHOTO))
        settings = with_folder(LocalSettings(), files)
        assert settings.private_host_allowlist == {"127.0.0.1:9", files.origin}
        assert settings.auth_disabled  # as under make run, since MEDIALAYER_AUTH_DISABLED is not set
        with running(create_app(settings=settings, folder=files)) as base:
            status, listing = get_json(f"{base}/local/files")
            urls = {f["path"]: f["url"] for f in listing["files"]}
            assert status == 200 and listing["folder_url"] == f"http://{files.origin}/"
            pair = {"source_url": urls["a.jpg"], "target_url": urls["sub/b copy.jpg"]}
            status, body = post_json(f"{base}/demo/image/match", pair)
            assert status == 200 and body["match"] is True
            status, body = post_json(f"{base}/image/match", {**pair, "target_url": other_url})
            assert (status, body["error"]["code"]) == (400, "invalid_url")
            assert "medialayer serve-dir DIR" in body["error"]["message"] and other.requests == []
    monkeypatch.setenv("MEDIALAYER_AUTH_DISABLED", "false")
    with FolderServer(tree) as files:
        assert not with_folder(LocalSettings(), files).auth_disabled


def test_a_refused_loopback_url_under_make_run_names_serve_dir_and_the_setting(make_run: LocalServer) -> None:
    status, body = post_json(
        f"{make_run.base}/demo/image/match",
        {"source_url": "http://127.0.0.1:9/a.jpg", "target_url": "http://127.0.0.1:9/b.jpg"},
    )
    message = body["error"]["message"]
    assert (status, body["error"]["code"]) == (400, "invalid_url")
    assert "medialayer serve-dir DIR" in message and "MEDIALAYER_ALLOW_PRIVATE_HOSTS" in message


def test_the_deployed_api_says_nothing_about_local_commands() -> None:
    from image_match.app import create_app

    with running(create_app()) as base:
        status, body = post_json(
            f"{base}/demo/image/match",
            {"source_url": "http://127.0.0.1:9/a.jpg", "target_url": "http://127.0.0.1:9/b.jpg"},
        )
    assert status == 400 and body["error"]["code"] == "invalid_url"
    assert "serve-dir" not in body["error"]["message"] and "MEDIALAYER" not in body["error"]["message"]


def test_the_serve_dir_command_end_to_end(tree: Path) -> None:
    """``python -m medialayer_local serve-dir DIR`` as the README says, on free ports."""
    with local_server(["serve-dir", str(tree), "--files-port", "0"]) as server:
        status, listing = get_json(f"{server.base}/local/files")
        assert status == 200
        urls = {f["path"]: f["url"] for f in listing["files"]}
        pair = {"source_url": urls["a.jpg"], "target_url": urls["sub/b copy.jpg"]}
        status, body = post_json(f"{server.base}/image/match", pair)  # auth off, as under make run
        assert status == 200 and body["match"] is True, body
        log = server.output()
        origin = listing["folder_url"].removeprefix("http://").rstrip("/")
        assert f"served READ-ONLY at http://{origin}/" in log and f"fetch from exactly {origin}" in log
        assert f"MEDIALAYER_ALLOW_PRIVATE_HOSTS is set ({origin})" in log


def test_serve_dir_refuses_what_is_not_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.jpg").write_bytes(PHOTO)
    for target in (tmp_path / "missing", tmp_path / "a.jpg"):
        assert cli_main(["serve-dir", str(target)]) == 2
        assert "not a directory" in capsys.readouterr().err


def test_serve_dir_says_when_its_port_is_taken(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FolderServer(tree) as busy:
        assert cli_main(["serve-dir", str(tree), "--files-port", str(busy.port)]) == 2
    err = capsys.readouterr().err
    assert f"127.0.0.1:{busy.port}" in err and "--files-port" in err


def test_the_listing_endpoint_is_only_there_with_a_folder(make_run: LocalServer) -> None:
    status, body = get_json(f"{make_run.base}/local/files")
    assert status == 404 and json.dumps(body).count("not_found") == 1
