"""``[components.embedding.options]`` reach the model's worker through its ModelSpec, and are checked at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from symphony.builtin_plugins.orchestra import plugin as orchestra_plugin
from symphony.hookspecs import SymphonyError
from symphony.host import Host, Settings


def _host(tmp_path: Path, **options: object) -> Host:
    host = Host(
        Settings(data_dir=tmp_path, cache_dir=tmp_path / "cache", components={"embedding": {"options": options}}),
        plugins=(orchestra_plugin,),
        discover_plugins=False,
    )
    host.load()
    return host


def test_the_orchestra_plugin_contributes_the_model_with_the_configured_threads(tmp_path: Path) -> None:
    _, spec = _host(tmp_path, threads=3, batch_size=8).context.contributions("symphony_models")["all-minilm-l6-v2"]
    assert spec.loader == "symphony.builtin_plugins.orchestra.embedding.model:load"
    assert (spec.config["threads"], spec.config["batch_size"], spec.sharing) == (3, 8, "shared")
    assert spec.config["cache_dir"] == str(tmp_path / "cache")


def test_the_embed_instrument_names_the_model_it_uses(tmp_path: Path) -> None:
    _, spec = _host(tmp_path).context.contributions("symphony_instruments")["embed"]
    assert spec.models == ("all-minilm-l6-v2",)


@pytest.mark.parametrize(
    ("options", "problem"),
    [({"thread": 2}, r"components\.embedding\.options.*thread"), ({"threads": 0}, r"threads.*>= 1")],
)
def test_a_bad_embedding_option_is_refused_when_the_host_loads(
    tmp_path: Path, options: dict[str, object], problem: str
) -> None:
    with pytest.raises(SymphonyError, match=problem):
        _host(tmp_path, **options)
