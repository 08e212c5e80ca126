"""A misspelt name is answered with the closest real one: commands, ``uses``, ports, workflow inputs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Final

import pytest

SYMPHONY: Final = str(Path(sys.executable).parent / "symphony")


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"SYMPHONY_CACHE_DIR": str(tmp_path / "cache"), "SYMPHONY_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run(
        [SYMPHONY, *args], capture_output=True, text=True, cwd=tmp_path, env={**os.environ, **env}, check=False
    )


@pytest.mark.parametrize(("typed", "meant"), [("wokflow", "workflow"), ("docter", "doctor"), ("rn", "run")])
def test_a_misspelt_command_suggests_the_closest_one(tmp_path: Path, typed: str, meant: str) -> None:
    result = run(tmp_path, typed)
    assert result.returncode == 2
    assert f"Error: No such command {typed!r}. Did you mean {meant!r}?" in result.stderr


def test_a_command_like_no_other_is_only_unknown(tmp_path: Path) -> None:
    result = run(tmp_path, "zzzzzz")
    assert result.returncode == 2
    assert "No such command 'zzzzzz'." in result.stderr and "Did you mean" not in result.stderr
