"""Atomic writes give a file the mode a plain write would: the umask's for a new file, its own when overwritten.

Both writers run in a real subprocess started with the umask under test, so the
helper reads the umask a user's shell would give it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final

import pytest

SYMPHONY: Final = str(Path(sys.executable).parent / "symphony")
WORKFLOW: Final = Path(__file__).resolve().parents[1] / "examples" / "triage.toml"

FILE_WRITE: Final = """\
import asyncio, sys
from symphony.builtin_plugins.orchestra.io import file_write
asyncio.run(file_write(sys.argv[1])({})({"path": sys.argv[2], "content": "hello"}))
"""


def _run(argv: list[str], umask: int, tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "SYMPHONY_DATA_DIR": str(tmp_path / "data"),
        "SYMPHONY_CACHE_DIR": str(tmp_path / "cache"),
    }
    result = subprocess.run(
        argv, umask=umask, env=environment, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr


def convert(target: Path, umask: int, tmp_path: Path) -> None:
    _run([SYMPHONY, "workflow", "convert", str(WORKFLOW), "--to", "json", "-o", str(target)], umask, tmp_path)


def file_write(target: Path, umask: int, tmp_path: Path) -> None:
    _run([sys.executable, "-c", FILE_WRITE, str(target.parent), target.name], umask, tmp_path)


WRITERS: Final = pytest.mark.parametrize("write", [convert, file_write], ids=["workflow-convert", "file-write"])
Writer = Callable[[Path, int, Path], None]


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o7777


@WRITERS
@pytest.mark.parametrize(
    ("umask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)], ids=["022", "077", "002"]
)
def test_a_new_file_gets_the_mode_the_umask_allows(write: Writer, umask: int, expected: int, tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    write(target, umask, tmp_path)
    assert mode(target) == expected


@WRITERS
@pytest.mark.parametrize("umask", [0o022, 0o077], ids=["022", "077"])
def test_an_overwritten_file_keeps_its_mode(write: Writer, umask: int, tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    target.chmod(0o640)
    write(target, umask, tmp_path)
    assert mode(target) == 0o640
    assert target.read_text() != "old"


@WRITERS
def test_an_overwrite_leaves_no_temporary_file_behind(write: Writer, tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    write(target, 0o022, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["out.json"]
