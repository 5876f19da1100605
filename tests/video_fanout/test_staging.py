"""The two staging stores behave the same (S3 through moto)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from medialayer.settings import Settings
from medialayer.staging import LocalDirStore, S3Store, StagingStore, build_store, validate_key

BUCKET = "staging-test"


@pytest.fixture
def s3_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Store]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield S3Store(BUCKET, client)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> StagingStore:
    if request.param == "local":
        return LocalDirStore(tmp_path / "staging")
    return request.getfixturevalue("s3_store")


def _all_keys(store: StagingStore) -> list[str]:
    if isinstance(store, LocalDirStore):
        return sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file())
    listed = store.client.list_objects_v2(Bucket=BUCKET)
    return sorted(obj["Key"] for obj in listed.get("Contents", []))


def test_round_trip_and_delete_only_the_run(store: StagingStore, tmp_path: Path) -> None:
    media = tmp_path / "clip.bin"
    media.write_bytes(b"\x00\x01media" * 1000)
    run, other = store.new_run_prefix(), store.new_run_prefix()
    assert run != other and run.startswith("runs/")

    store.put_file(media, f"{run}/source/media")
    store.put_object(f"{run}/source/info.pkl", b"info")
    store.put_object(f"{other}/keep.pkl", b"keep")

    got = store.get_file(f"{run}/source/media", tmp_path / "dl")
    assert got.read_bytes() == media.read_bytes()
    assert store.get_object(f"{run}/source/info.pkl") == b"info"

    store.delete_prefix(run)
    assert _all_keys(store) == [f"{other}/keep.pkl"]
    with pytest.raises(KeyError):
        store.get_object(f"{run}/source/info.pkl")
    with pytest.raises(KeyError):
        store.get_file(f"{run}/source/media", tmp_path / "dl2")


def test_refuses_unsafe_keys_and_prefixes(store: StagingStore) -> None:
    for key in ("", "/abs", "runs/../x", "runs//x", "runs/a b", "runs/./x"):
        with pytest.raises(ValueError):
            store.put_object(key, b"x")
    for prefix in ("runs", "", "other/abc", "runs/.."):
        with pytest.raises(ValueError):
            store.delete_prefix(prefix)


def test_s3_upload_is_multipart_for_large_files(s3_store: S3Store, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with big.open("wb") as fh:  # above boto3's 8 MB multipart threshold
        for i in range(10):
            fh.write(bytes([i]) * (1024 * 1024))
    s3_store.put_file(big, "runs/r1/source/media")
    head = s3_store.client.head_object(Bucket=BUCKET, Key="runs/r1/source/media")
    assert head["ContentLength"] == big.stat().st_size
    assert "-" in head["ETag"]  # multipart ETags carry the part count
    s3_store.delete_prefix("runs/r1")
    assert _all_keys(s3_store) == []


def test_s3_delete_prefix_pages_through_many_objects(s3_store: S3Store) -> None:
    for i in range(1005):
        s3_store.put_object(f"runs/r2/chunk-{i:04d}", b"x")
    s3_store.delete_prefix("runs/r2")
    assert _all_keys(s3_store) == []


def test_local_get_file_returns_staged_copy_without_downloading(tmp_path: Path) -> None:
    store = LocalDirStore(tmp_path / "staging")
    media = tmp_path / "a.bin"
    media.write_bytes(b"abc")
    store.put_file(media, "runs/r/source/media")
    media.unlink()  # the pipeline deletes its temp file; the staged copy survives
    got = store.get_file("runs/r/source/media", tmp_path / "unused")
    assert got.read_bytes() == b"abc" and got.is_relative_to(store.root)
    assert not (tmp_path / "unused").exists()


def test_build_store_picks_by_settings(tmp_path: Path, s3_store: S3Store) -> None:
    local = build_store(Settings(staging_dir=str(tmp_path / "st")))
    assert isinstance(local, LocalDirStore) and local.root == tmp_path / "st"
    remote = build_store(Settings(staging_bucket=BUCKET))
    assert isinstance(remote, S3Store) and remote.bucket == BUCKET


def test_validate_key_accepts_plain_keys() -> None:
    assert validate_key("runs/abc/source/frames-001.pkl") == "runs/abc/source/frames-001.pkl"
