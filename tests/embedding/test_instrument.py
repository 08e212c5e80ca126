"""The ``embed`` instrument in real workflow runs: the model in the pool's worker, the vectors back as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from symphony.builtin_plugins.orchestra.embedding.instrument import MODEL, EmbedInstrument
from symphony.builtin_plugins.orchestra.embedding.model import load as load_model
from symphony.builtin_plugins.workflow import load
from symphony.hookspecs import ValidationError

from .conftest import MakeHost

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "embed.toml"
INPUTS = {
    "query": "A man is eating food.",
    "documents": '["A man is eating a piece of bread.", "The new movie is awesome."]',
}


async def test_the_example_workflow_gives_the_vectors_of_the_query_and_documents(
    make_host: MakeHost, model_cache: Path
) -> None:
    async with make_host() as host:
        result = await host.port("dag_tracker").run(load(EXAMPLE), INPUTS)
    assert result.state == "succeeded", result.error
    query = np.array(result.outputs["query_vector"])
    documents = np.array(result.outputs["document_vectors"])
    direct = load_model({"cache_dir": str(model_cache)}).vectors(
        ["A man is eating food.", "A man is eating a piece of bread.", "The new movie is awesome."]
    )
    assert query.shape == (384,) and documents.shape == (2, 384)
    assert np.abs(np.vstack([query, documents]) - direct).max() <= 0.5e-4  # config.decimals = 4
    assert documents @ query == pytest.approx([0.755, -0.05], abs=0.02)


async def test_vectors_through_the_pool_match_the_onnx_reference(make_host: MakeHost) -> None:
    reference = json.loads((Path(__file__).resolve().parents[1] / "data" / "minilm_reference.json").read_text())
    async with make_host() as host:
        outputs = await EmbedInstrument(host.context, {})({"texts": reference["sentences"]})
    ours, theirs = np.array(outputs["vectors"]), np.array(reference["vectors"])
    cosines = (ours * theirs).sum(axis=1) / np.linalg.norm(theirs, axis=1)
    assert float(cosines.min()) >= 0.995  # >= 0.999 but for the shortest texts: see test_model.py
    assert float(np.median(cosines)) >= 0.999


async def test_the_model_runs_in_one_pooled_worker_kept_hot_across_runs(make_host: MakeHost) -> None:
    async with make_host() as host:
        tracker = host.port("dag_tracker")
        for _ in range(2):
            assert (await tracker.run(load(EXAMPLE), INPUTS)).state == "succeeded"
        status = host.port("pool_manager").status()
    (model,) = [m for m in status.models if m.model_id == MODEL]
    assert (model.state, model.instances, model.handles) == ("hot", 1, 0)
    assert model.rss > 50 * 1024 * 1024  # the weights live in the worker
    assert status.allocations == 2 and status.cold_starts + status.prewarm_hits + status.hits == 2


async def test_the_lookahead_prewarms_the_model_while_the_parse_node_runs(make_host: MakeHost) -> None:
    async with make_host() as host:
        assert (await host.port("dag_tracker").run(load(EXAMPLE), INPUTS)).state == "succeeded"
        status = host.port("pool_manager").status()
    assert (status.predictions, status.prewarm_hits, status.cold_starts) == (1, 1, 0)


async def test_texts_alone_give_vectors_and_no_vector(make_host: MakeHost) -> None:
    async with make_host() as host:
        outputs = await EmbedInstrument(host.context, {})({"texts": ["one", "two", "three"]})
    assert outputs["vector"] is None
    assert [len(v) for v in outputs["vectors"]] == [384, 384, 384]


async def test_an_empty_list_of_texts_gives_no_vectors_without_loading_the_model(make_host: MakeHost) -> None:
    async with make_host() as host:
        outputs = await EmbedInstrument(host.context, {})({"texts": []})
        status = host.port("pool_manager").status()
    assert outputs == {"vector": None, "vectors": []}
    assert status.allocations == 0


@pytest.mark.parametrize(
    ("inputs", "problem"),
    [
        ({}, "needs input 'text'"),
        ({"text": 3}, "'text' of 'embed' must be a string"),
        ({"texts": "not a list"}, "'texts' of 'embed' must be a list of strings"),
        ({"texts": ["a", None]}, "'texts' of 'embed' must be a list of strings"),
    ],
)
async def test_inputs_that_are_not_text_are_refused(make_host: MakeHost, inputs: dict[str, Any], problem: str) -> None:
    async with make_host() as host:
        with pytest.raises(ValidationError, match=problem):
            await EmbedInstrument(host.context, {})(inputs)


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"decimal": 3}, "does not know config key"),
        ({"decimals": 12}, "integer from 0 to 9"),
        ({"decimals": True}, "0 to 9"),
    ],
)
async def test_a_bad_config_is_refused_when_the_node_is_built(
    make_host: MakeHost, config: dict[str, Any], problem: str
) -> None:
    async with make_host() as host:
        with pytest.raises(ValidationError, match=problem):
            EmbedInstrument(host.context, config)
