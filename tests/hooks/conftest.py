"""Hosts for the hook tests: real hosts over real plugin objects, with private state directories."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from symphony.host import Host, Settings

MakeHost = Callable[..., Host]


@pytest.fixture
def make_host(tmp_path: Path) -> MakeHost:
    """``make_host(*plugins, discover=False, **settings)``: a host of these plugins (and installed ones if discover)."""

    def make(*plugins: object, discover: bool = False, **settings: Any) -> Host:
        chosen = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache", **settings)
        return Host(chosen, plugins=plugins, discover_plugins=discover)

    return make
