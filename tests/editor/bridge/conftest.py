"""The bridge over a real editor-core process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from symphony.builtin_plugins.editor.bridge.port import CoreEditing

from .support import Recorder


@pytest.fixture
def events() -> Recorder:
    return Recorder()


@pytest.fixture
async def editing(events: Recorder) -> AsyncIterator[CoreEditing]:
    port = CoreEditing(emit=events)
    try:
        yield port
    finally:
        await port.stop()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "poem.txt"
    path.write_text("roses are red\nviolets are blue\n", encoding="utf-8")
    return path
