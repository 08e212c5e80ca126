"""fuzz/run.py fails CI on what a harness finds, keeps the input, and passes a clean run.

Each test copies the runner beside one small harness of its own into a
temporary folder and runs it there for real (atheris, libFuzzer, subprocess).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[2] / "fuzz"

_HARNESS = """
from _harness import fuzz

def target(data: bytes) -> None:
{body}

if __name__ == "__main__":
    fuzz(target)
"""


def _run(tmp_path: Path, body: str, seed: bytes, *arguments: str) -> subprocess.CompletedProcess[str]:
    for name in ("run.py", "_harness.py"):
        shutil.copy(FUZZ / name, tmp_path / name)
    (tmp_path / "fuzz_probe.py").write_text(_HARNESS.format(body=body))
    (tmp_path / "corpus" / "probe").mkdir(parents=True)
    (tmp_path / "corpus" / "probe" / "seed-1").write_bytes(seed)
    return subprocess.run(
        [sys.executable, str(tmp_path / "run.py"), *arguments], check=False, capture_output=True, text=True, timeout=300
    )


def _findings(tmp_path: Path, prefix: str) -> list[Path]:
    return sorted((tmp_path / "corpus" / "probe").glob(f"{prefix}-*"))


@pytest.mark.slow
def test_a_clean_harness_passes(tmp_path: Path) -> None:
    result = _run(tmp_path, "    assert isinstance(data, bytes)", b"x", "--seconds", "2", "probe")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "fuzzing clean: probe" in result.stdout
    assert _findings(tmp_path, "crash") == []


@pytest.mark.slow
def test_an_exception_fails_the_run_and_keeps_the_input(tmp_path: Path) -> None:
    body = "    if data.startswith(b'!'):\n        raise ValueError('boom')"
    result = _run(tmp_path, body, b"!boom", "--seconds", "30", "probe")
    assert result.returncode == 1
    assert "ValueError: boom" in result.stdout and "fuzzing found problems in: probe" in result.stdout
    [kept] = _findings(tmp_path, "crash")
    assert kept.read_bytes() == b"!boom"


@pytest.mark.slow
def test_an_input_that_hangs_fails_the_run_as_a_timeout(tmp_path: Path) -> None:
    body = "    import time\n    if data == b'hang':\n        time.sleep(3600)"
    result = _run(tmp_path, body, b"hang", "--seconds", "30", "probe")
    assert result.returncode == 1, result.stdout
    assert [path.read_bytes() for path in _findings(tmp_path, "timeout")] == [b"hang"]


def test_an_unknown_harness_is_refused_with_the_known_names(tmp_path: Path) -> None:
    result = _run(tmp_path, "    pass", b"x", "nothing")
    assert result.returncode == 2
    assert "no harness named nothing; the harnesses are: probe" in result.stderr
