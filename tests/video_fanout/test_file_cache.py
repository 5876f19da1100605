"""The chunk worker's staged-file cache: one download per warm worker, bounded, never deletes in place."""

from __future__ import annotations

from pathlib import Path

from medialayer.staging import LocalDirStore
from video_match.stages import _StagedFileCache


class CountingStore(LocalDirStore):
    """Downloads like a remote store (a copy into dest_dir) and counts the downloads."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.downloads: list[str] = []

    def get_file(self, key: str, dest_dir: Path) -> Path:
        self.downloads.append(key)
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / key.replace("/", "__")
        dest.write_bytes(super().get_file(key, dest_dir).read_bytes())
        return dest


def _stage(store: LocalDirStore, tmp_path: Path, *keys: str) -> None:
    for i, key in enumerate(keys):
        src = tmp_path / f"src-{i}.bin"
        src.write_bytes(key.encode())
        store.put_file(src, key)


def test_reuses_downloads_and_keeps_at_most_two_idle_files(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "staging")
    a, b, c = "runs/r/source/media", "runs/r/target/media", "runs/s/source/media"
    _stage(store, tmp_path, a, b, c)
    cache = _StagedFileCache(tmp_path / "cache", max_files=2)
    for key in (a, b, a, b, a):
        with cache.use(store, key) as path:
            assert path.read_bytes() == key.encode()
    assert store.downloads == [a, b]
    with cache.use(store, c):
        pass
    assert store.downloads == [a, b, c]
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(
        k.replace("/", "__") for k in (a, c)
    )  # b (least recently used) was evicted


def test_file_in_use_is_not_evicted(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "staging")
    a, b = "runs/r/source/media", "runs/r/target/media"
    _stage(store, tmp_path, a, b)
    cache = _StagedFileCache(tmp_path / "cache", max_files=1)
    with cache.use(store, a) as held, cache.use(store, b) as other:
        assert held.exists() and other.exists()


def test_local_store_files_are_used_in_place_and_never_deleted(tmp_path: Path) -> None:
    store = LocalDirStore(tmp_path / "staging")
    a, b = "runs/r/source/media", "runs/r/target/media"
    _stage(store, tmp_path, a, b)
    cache = _StagedFileCache(tmp_path / "cache", max_files=1)
    for key in (a, b, a):
        with cache.use(store, key) as path:
            assert path.is_relative_to(store.root)
    assert (store.root / a).exists() and (store.root / b).exists()
    assert not (tmp_path / "cache").exists()
