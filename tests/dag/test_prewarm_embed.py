"""`symphony run examples/embed.toml` prewarms the local all-MiniLM-L6-v2 model from the lookahead.

``parse`` comes before ``embed``, so the run asks the pool to warm the model at its start;
``runs show`` and ``pool status`` (other processes) say so.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.conftest import Symphony

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "embed.toml"
MODEL = "all-minilm-l6-v2"


def test_running_the_embed_example_prewarms_its_model_from_the_lookahead(symphony: Callable[..., Symphony]) -> None:
    runner = symphony()
    result = runner.json(
        "run",
        str(EXAMPLE),
        "--input",
        "query=A man is eating food.",
        "--input",
        'documents=["The new movie is awesome."]',
    )

    shown = runner.json("runs", "show", result["run_id"])
    pool = runner.json("pool", "status")["status"]

    assert result["state"] == "succeeded"
    assert [(w["model"], w["node"]) for w in shown["prewarmed"]] == [(MODEL, "embed")]
    (model,) = [m for m in pool["models"] if m["model_id"] == MODEL]
    assert (model["prewarms"], model["cold_starts"]) == (1, 0)
