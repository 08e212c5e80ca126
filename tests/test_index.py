"""The entry-point index: what invalidates it, and what must not."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from symphony.host._index import _is_current, load_index


@pytest.fixture
def cwd_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(sys, "path", ["", *sys.path])
    return work


def test_new_files_in_the_working_directory_keep_the_index(cwd_on_path: Path, tmp_path: Path) -> None:
    index = load_index(tmp_path / "cache")
    (cwd_on_path / "notes.txt").write_text("scratch", encoding="utf-8")
    assert _is_current(index, list(sys.path))


def test_a_distribution_appearing_in_the_working_directory_invalidates_it(cwd_on_path: Path, tmp_path: Path) -> None:
    index = load_index(tmp_path / "cache")
    (cwd_on_path / "newcomer-1.0.dist-info").mkdir()
    assert not _is_current(index, list(sys.path))


def test_the_cache_file_is_reused_while_current(cwd_on_path: Path, tmp_path: Path) -> None:
    load_index(tmp_path / "cache")
    (cache_file,) = (tmp_path / "cache").glob("entry-points-*.msgpack")
    written = cache_file.stat().st_mtime_ns
    load_index(tmp_path / "cache")
    assert cache_file.stat().st_mtime_ns == written


def test_the_builtins_are_indexed_with_their_distribution(tmp_path: Path) -> None:
    index = load_index(tmp_path / "cache", use_cache=False)
    plugins = {ep.name: dist.name for dist, ep in index.group("symphony.plugins")}
    assert plugins["editor"] == "symphony-builtins" and plugins["sandbox"] == "symphony-sandbox"
