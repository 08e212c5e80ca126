"""Every hook has a test named for it.

The rule: for each hookspec ``symphony_X`` in ``symphony.hookspecs.hooks``, some test
under ``tests/hooks/`` has ``symphony_X`` in its pytest node id, in the test
function's name or in a parametrize id.  A hook added without a test of its behaviour
fails here, naming it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from symphony.hookspecs import hooks

ROOT = Path(__file__).resolve().parents[1]


def test_every_hookspec_has_a_test_named_for_it() -> None:
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests/hooks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert collected.returncode == 0, collected.stdout + collected.stderr
    node_ids = [line for line in collected.stdout.splitlines() if "::" in line]
    hookspecs = sorted(name for name in vars(hooks) if name.startswith("symphony_"))
    untested = [name for name in hookspecs if not any(name in node_id for node_id in node_ids)]
    assert untested == [], "hooks without a test under tests/hooks/ named for them"
