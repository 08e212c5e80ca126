"""Hostile arguments to every wasm host function never abort, crash or hang the host.

The properties live in ``fuzz_host_calls.py`` and run in a subprocess: an abort there
(exit 134) or a crash fails this test instead of killing pytest. Hypothesis varies the
pointers and lengths (negative, huge, out of bounds), the names and argument bytes
(invalid UTF-8, not JSON, wrong fields, hostile URLs), the guest's allocator (honest, a
fixed or out-of-range address, re-entering the host, trapping, growing memory) and what
the permission check and the services do (allow, deny, raise); and it loads arbitrary
bytes behind wasm headers, and broken WAT, which must fail as a WasmLoadError.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Final

import pytest

pytestmark = pytest.mark.slow  # hundreds of modules compiled, the component invoked hundreds of times

SCRIPT: Final = Path(__file__).resolve().parent / "fuzz_host_calls.py"
#: Examples per property; CI may raise it with SYMPHONY_FUZZ_EXAMPLES for a longer run.
EXAMPLES: Final = os.environ.get("SYMPHONY_FUZZ_EXAMPLES", "150")


def test_no_hostile_host_call_ends_in_anything_but_an_extension_error(tmp_path: Path, hostile_component: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), EXAMPLES, str(tmp_path / "compiled"), str(hostile_component)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
    assert f"fuzzed {EXAMPLES} examples per property" in result.stdout
