"""Fixtures shared by the MCP tests (helpers are in ``mcp_servers.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mcp.mcp_servers import make_repository


@pytest.fixture(scope="module")
def repositories(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A granted repository and one beside it that is not granted."""
    root = tmp_path_factory.mktemp("repos")
    yield make_repository(root / "granted", "granted commit"), make_repository(root / "secret", "secret commit")
