"""``symphony workflow convert -o`` into a directory it cannot write: one clear error, exit 2, nothing created."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Final

SYMPHONY: Final = str(Path(sys.executable).parent / "symphony")
WORKFLOW: Final = Path(__file__).resolve().parents[2] / "examples" / "triage.toml"


def convert_to(output: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "SYMPHONY_DATA_DIR": str(tmp_path / "data"),
        "SYMPHONY_CACHE_DIR": str(tmp_path / "cache"),
    }
    argv = [SYMPHONY, "workflow", "convert", str(WORKFLOW), "--to", "json", "-o", str(output)]
    return subprocess.run(argv, env=environment, capture_output=True, text=True, timeout=120, check=False)


def assert_one_clear_error(result: subprocess.CompletedProcess[str], output: Path) -> None:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"Error: cannot write {output}: ")
    assert "existing directory you can write to" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_a_missing_directory_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    output = tmp_path / "missing" / "dir" / "x.json"
    result = convert_to(output, tmp_path)
    assert_one_clear_error(result, output)
    assert not (tmp_path / "missing").exists()


def test_a_directory_that_refuses_files_is_an_error_without_a_traceback(tmp_path: Path) -> None:
    output = Path("/proc/x.json")
    assert_one_clear_error(convert_to(output, tmp_path), output)
