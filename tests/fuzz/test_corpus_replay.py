"""Every input saved under fuzz/corpus/ replays through its harness's target as an ordinary test.

The seeds say the harness still accepts valid documents; the ``crash-*``,
``timeout-*`` and ``oom-*`` inputs are findings that were fixed, and must stay
fixed.  Findings in code not yet fixed (``UNFIXED`` in fuzz/_harness.py) are
skipped with the reason, so the test turns from skipped to guarding once the
entry goes.  No fuzzing happens here: this is fast and needs no libFuzzer run.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import pytest

FUZZ = Path(__file__).resolve().parents[2] / "fuzz"
_FINDINGS = ("crash-", "timeout-", "oom-", "leak-", "slow-unit-")


def _inputs() -> Iterator[tuple[str, Path]]:
    for harness in sorted(FUZZ.glob("fuzz_*.py")):
        name = harness.stem.removeprefix("fuzz_")
        for path in sorted((FUZZ / "corpus" / name).glob("*")):
            yield name, path


@pytest.fixture(scope="module")
def harnesses() -> Iterator[Callable[[str], Callable[[bytes], None]]]:
    sys.path.insert(0, str(FUZZ))
    try:
        yield lambda name: cast(Callable[[bytes], None], importlib.import_module(f"fuzz_{name}").target)
    finally:
        sys.path.remove(str(FUZZ))


def test_every_harness_has_seeds() -> None:
    names = {path.stem.removeprefix("fuzz_") for path in FUZZ.glob("fuzz_*.py")}
    assert names
    assert {name for name in names if not any((FUZZ / "corpus" / name).glob("seed-*"))} == set()


def test_only_harnesses_are_named_unfixed() -> None:
    sys.path.insert(0, str(FUZZ))
    try:
        unfixed = importlib.import_module("_harness").UNFIXED
    finally:
        sys.path.remove(str(FUZZ))
    assert set(unfixed) <= {path.stem.removeprefix("fuzz_") for path in FUZZ.glob("fuzz_*.py")}


@pytest.mark.parametrize(("name", "path"), list(_inputs()), ids=lambda value: getattr(value, "name", value))
def test_saved_input_replays_cleanly(
    name: str, path: Path, harnesses: Callable[[str], Callable[[bytes], None]]
) -> None:
    target = harnesses(name)
    unfixed = cast(dict[str, str], sys.modules["_harness"].UNFIXED)
    if path.name.startswith(_FINDINGS) and name in unfixed:
        pytest.skip(f"known and not yet fixed: {unfixed[name]}")
    target(path.read_bytes())
