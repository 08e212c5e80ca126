"""The builtin artifact store: content-addressed, deduplicated, atomic."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from symphony.builtin_plugins.pit.artifacts import ArtifactStore
from symphony.hookspecs import ArtifactId, NotFoundError, ValidationError
from symphony.hookspecs.ports import ArtifactStorePort


def test_the_store_satisfies_the_port_protocol(tmp_path: Path) -> None:
    assert isinstance(ArtifactStore(tmp_path), ArtifactStorePort)


async def test_an_artifact_is_addressed_by_its_sha256(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    artifact = await store.store(b"hello")
    assert artifact == "sha256:" + hashlib.sha256(b"hello").hexdigest()
    assert await store.retrieve(artifact) == b"hello"


async def test_storing_the_same_bytes_twice_keeps_one_copy(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    assert await store.store(b"same") == await store.store(b"same")
    assert store.stats().objects == 1


async def test_info_and_search_use_the_metadata(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    report = await store.store(b"{}", {"kind": "Report", "node": "summarise"})
    await store.store(b"x", {"kind": "log"})
    assert (await store.info(report)).metadata == {"kind": "Report", "node": "summarise"}
    assert [info.artifact_id for info in await store.search("report")] == [report]


async def test_an_unknown_artifact_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        await ArtifactStore(tmp_path).retrieve(ArtifactId("sha256:" + "0" * 64))


async def test_a_malformed_id_is_rejected_before_touching_the_disk(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="64 hex digits"):
        await ArtifactStore(tmp_path).retrieve(ArtifactId("sha256:../../etc/passwd"))


def test_loading_the_artifacts_plugin_imports_no_store_machinery() -> None:
    """Every command loads the plugin; only those that use the store may pay for SQLAlchemy, Tantivy and the ciphers."""
    probe = (
        "import sys, symphony.builtin_plugins.pit.artifacts.plugin;"
        "print(sorted(m for m in ('sqlalchemy', 'tantivy', 'pyfastcdc', 'cryptography.hazmat') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
