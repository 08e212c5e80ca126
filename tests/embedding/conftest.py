"""A real host with the DAG tracker, the Orchestra Kit and the pool; the model's weights unpacked once per session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from symphony.builtin_plugins.orchestra import plugin as orchestra_plugin
from symphony.builtin_plugins.pit.artifacts import plugin as artifacts_plugin
from symphony.builtin_plugins.pit.dag import plugin as dag_plugin
from symphony.builtin_plugins.pit.pool import plugin as pool_plugin
from symphony.host import Host, Settings

MakeHost = Callable[..., AbstractAsyncContextManager[Host]]


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture
def make_host(tmp_path: Path, model_cache: Path) -> MakeHost:
    """Started hosts sharing one data directory (``components``: their options); stopping one closes its pool."""

    @asynccontextmanager
    async def started(components: dict[str, Any] | None = None) -> AsyncIterator[Host]:
        host = Host(
            Settings(data_dir=tmp_path / "data", cache_dir=model_cache, components=components or {}),
            plugins=(dag_plugin, orchestra_plugin, artifacts_plugin, pool_plugin),
            discover_plugins=False,
        )
        async with host:
            yield host

    return started
