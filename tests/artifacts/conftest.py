"""A fresh artifact store per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from symphony.builtin_plugins.pit.artifacts import ArtifactStore


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "artifacts")
