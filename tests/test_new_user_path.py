"""A new user's first hour, end to end, from the docs alone.

The extension is the one docs/extensions.md builds, written from the page's
own blocks; it is pip installed into a real virtual environment, listed, granted,
used in the page's workflow, run, interrupted with SIGINT, resumed with a
corrected input, uninstalled, and its grant is then stale and pruned.
"""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.extensions.venv_env import Environment
from tests.test_docs_commands import blocks

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[1] / "docs" / "extensions.md"
GRANT = "network:127.0.0.1"


def write_docs_files(target: Path) -> None:
    """The files docs/extensions.md shows (the extension's source tree and its workflow)."""
    for block in blocks(DOCS):
        if block.file:
            path = target / block.file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block.body, encoding="utf-8")


@pytest.fixture
def env(tmp_path: Path) -> Environment:
    environment = Environment(tmp_path)
    write_docs_files(tmp_path)
    return environment


def start_slow_run(env: Environment) -> tuple[subprocess.Popen[str], str]:
    """``symphony run`` with a long pause, once the run has started; the process and the run id."""
    process = subprocess.Popen(
        env.command("run", "count.toml", "--input", "text=one two three", "--input", "pause=600"),
        cwd=env.root,
        env=env.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    started = re.search(r"run ([0-9a-f]{32}) started", process.stdout.readline())
    assert started, "the run id is printed when the run starts"
    run_id = started[1]
    assert env.json("runs", "show", run_id)["state"] == "running"
    return process, run_id


def test_a_new_user_writes_installs_runs_interrupts_resumes_and_uninstalls_an_extension(env: Environment) -> None:
    env.install(env.root / "word-count")
    listed = {item["name"]: item for item in env.json("ext", "list")}
    assert listed["word-count"]["distribution"] == "acme-word-count"
    if env.symphony("nodes", "--help").returncode == 0:
        assert "word-count" in env.ok("nodes", "show", "count-words")

    refused = env.symphony("workflow", "validate", "count.toml")
    assert refused.returncode == 1
    assert f"symphony ext grant word-count {GRANT}" in refused.stdout + refused.stderr
    env.ok("ext", "grant", "word-count", GRANT)
    assert "words = 2" in env.ok("run", "count.toml", "--input", "text=one two", "--input", "pause=0")

    process, run_id = start_slow_run(env)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert f"resume with: symphony runs resume {run_id}" in out + err
    assert env.json("runs", "show", run_id)["state"] == "cancelled"

    resumed = env.ok("runs", "resume", run_id, "--input", "pause=0")
    assert f"run {run_id} succeeded" in resumed
    assert "words = 3" in resumed

    env.uninstall("acme-word-count")
    assert "word-count" not in {item["name"] for item in env.json("ext", "list")}
    grants = env.json("ext", "grants")
    assert grants["stale"] == {"word-count": [GRANT]}
    assert "Removed network:127.0.0.1 of word-count" in env.ok("ext", "grants", "--prune")
    assert env.json("ext", "grants") == {"grants": {}, "stale": {}, "trusted": {}, "stale_trust": []}
