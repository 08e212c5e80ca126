"""`symphony run` prewarms an instrument's model from the lookahead while the nodes before it run.

The workflow is ``a`` (an operator that takes longer than the model's load) -> ``b`` (an
instrument whose model, from benchmarks/pool_models.py, takes a real second to load in
its worker).  Run through the real pool of the default distribution.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .conftest import register
from .modelled import LOAD_SECONDS, MODEL
from .test_kill_resume import _node, _write

if TYPE_CHECKING:
    from tests.conftest import Symphony

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]  # benchmarks.pool_models, the model's loader, imports from here


@pytest.fixture(scope="module")
def modelled_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("modelled-site")
    shutil.copy(HERE / "modelled.py", site / "symphony_dagtest_modelled.py")
    register(site, "symphony-dagtest-modelled", "[symphony.plugins]\nmodelled = symphony_dagtest_modelled\n")
    return site


def _operator_then_instrument(tmp_path: Path) -> Path:
    slow = _node("a", tmp_path / "log", sleep=LOAD_SECONDS * 2)
    instrument = '[nodes.b]\nkind = "instrument"\nuses = "test-modelled"\n'
    edge = '[[edges]]\nkind = "data"\nfrom = "a.value"\nto = "b.value"\n'
    return _write(tmp_path / "flow.toml", slow + instrument + edge, {"state": "b.state"})


@pytest.fixture
def prewarmed(
    symphony: Callable[..., Symphony], test_site: Path, modelled_site: Path, tmp_path: Path
) -> tuple[Symphony, dict[str, Any]]:
    """One `symphony run` of the workflow, and its --json result."""
    runner = symphony(test_site, modelled_site, REPO)
    result = runner.json("run", str(_operator_then_instrument(tmp_path)), "--input", "x=1")
    return runner, result


def test_the_model_is_warming_or_hot_when_the_instrument_after_the_operator_starts(
    prewarmed: tuple[Symphony, dict[str, Any]],
) -> None:
    _, result = prewarmed

    assert result["state"] == "succeeded"
    assert result["outputs"]["state"] in ("warming", "hot")


def test_runs_show_lists_the_model_the_lookahead_prewarmed_for_the_instrument(
    prewarmed: tuple[Symphony, dict[str, Any]],
) -> None:
    runner, result = prewarmed

    shown = runner.json("runs", "show", result["run_id"])
    text = runner.run("runs", "show", result["run_id"]).stdout

    (warmed,) = shown["prewarmed"]
    assert (warmed["model"], warmed["node"]) == (MODEL, "b")
    assert warmed["reason"] == f"lookahead of run {result['run_id']}"
    assert warmed["at"] <= shown["finished_at"]
    assert f"prewarmed model {MODEL} for node b at " in text


def test_pool_status_shows_the_model_prewarmed_once_and_never_cold_started(
    prewarmed: tuple[Symphony, dict[str, Any]],
) -> None:
    runner, _ = prewarmed

    status = runner.json("pool", "status")["status"]

    (model,) = [m for m in status["models"] if m["model_id"] == MODEL]
    assert (model["state"], model["prewarms"], model["cold_starts"]) == ("hot", 1, 0)
    assert status["predictions"] == 1
    assert status["prewarm_hits"] == 1  # the run's last counters, written as its command exited
