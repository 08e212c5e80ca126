"""``core``: a fresh editor-core subprocess per test, killed afterwards if still running."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .support import CoreProcess


@pytest.fixture
def core() -> Iterator[CoreProcess]:
    process = CoreProcess()
    try:
        yield process
    finally:
        process.close()
