"""Named versions and lineage: NAME@N, NAME@latest, history, and lineage in both directions."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from symphony.builtin_plugins.pit.artifacts import ArtifactStore, StoreOptions
from symphony.builtin_plugins.pit.artifacts.catalog import Catalog, Lineage
from symphony.builtin_plugins.pit.artifacts.db import Database
from symphony.hookspecs import NotFoundError, ValidationError


def cid(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


A, B, C = cid(b"a"), cid(b"b"), cid(b"c")


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return Catalog(Database(tmp_path / "index.db"))


def test_each_new_content_under_a_name_is_the_next_version(catalog: Catalog) -> None:
    versions = [catalog.name("report", content).version for content in (A, B, C)]
    assert versions == [1, 2, 3]
    assert [v.artifact_id for v in catalog.history("report")] == [A, B, C]


def test_the_same_content_as_the_latest_adds_no_version_but_joins_its_tags(catalog: Catalog) -> None:
    catalog.name("report", A, tags=["draft"])
    again = catalog.name("report", A, tags=["reviewed"])
    assert (again.version, again.tags) == (1, ["draft", "reviewed"])
    assert len(catalog.history("report")) == 1


def test_content_of_an_older_version_comes_back_as_a_new_version(catalog: Catalog) -> None:
    for content in (A, B, A):
        catalog.name("report", content)
    assert [v.artifact_id for v in catalog.history("report")] == [A, B, A]


def test_refs_resolve_by_number_latest_bare_name_and_content_id(catalog: Catalog) -> None:
    catalog.name("report", A)
    catalog.name("report", B)
    assert catalog.resolve("report@1") == A
    assert catalog.resolve("report@latest") == B
    assert catalog.resolve("report") == B
    assert catalog.resolve(C) == C


def test_a_version_that_does_not_exist_says_which_do(catalog: Catalog) -> None:
    catalog.name("report", A)
    with pytest.raises(NotFoundError, match=r"No version '7' of artifact 'report': it has versions 1 to 1"):
        catalog.resolve("report@7")


def test_an_unknown_name_is_not_found_with_how_to_name_one(catalog: Catalog) -> None:
    with pytest.raises(NotFoundError, match=r"No artifact named 'nope'; name one with `symphony artifacts put"):
        catalog.resolve("nope@latest")


@pytest.mark.parametrize("name", ["", "a@b", "-x", "a b", "x" * 201])
def test_an_invalid_name_is_refused_with_the_rule(catalog: Catalog, name: str) -> None:
    with pytest.raises(ValidationError, match="Invalid artifact name"):
        catalog.name(name, A)


def test_a_malformed_content_id_is_refused(catalog: Catalog) -> None:
    with pytest.raises(ValidationError, match="expected 'sha256:' and 64 hex digits"):
        catalog.resolve("sha256:abc")


def test_metadata_and_tags_are_kept_per_version(catalog: Catalog) -> None:
    catalog.name("model", A, tags=["b", "a"], metadata={"type": "weights"})
    (version,) = catalog.history("model")
    assert (version.tags, version.metadata) == (["a", "b"], {"type": "weights"})


def test_names_of_lists_every_version_pointing_at_a_content_id(catalog: Catalog) -> None:
    catalog.name("x", A)
    catalog.name("y", B)
    catalog.name("y", A)
    assert [(v.name, v.version) for v in catalog.names_of(A)] == [("x", 1), ("y", 2)]


def _lineage(artifact_id: str, node: str, inputs: list[str], run: str = "r1") -> Lineage:
    return Lineage(
        artifact_id=artifact_id,
        run_id=run,
        node_id=node,
        contribution="summarise",
        contribution_version="symphony-builtins==1.0",
        inputs=inputs,
    )


def test_produced_says_which_run_node_and_contribution_made_it_from_what(catalog: Catalog) -> None:
    catalog.record([_lineage(C, "join", [A, B])])
    (entry,) = catalog.produced(C)
    assert (entry.run_id, entry.node_id, entry.contribution, entry.contribution_version, entry.inputs) == (
        "r1",
        "join",
        "summarise",
        "symphony-builtins==1.0",
        [A, B],
    )


def test_used_by_lists_every_output_computed_from_an_artifact(catalog: Catalog) -> None:
    catalog.record([_lineage(B, "first", [A]), _lineage(C, "second", [A, B])])
    assert [entry.node_id for entry in catalog.used_by(A)] == ["first", "second"]
    assert [entry.node_id for entry in catalog.used_by(B)] == ["second"]
    assert catalog.used_by(C) == []


def test_recording_the_same_output_of_the_same_node_twice_adds_nothing(catalog: Catalog) -> None:
    catalog.record([_lineage(B, "first", [A])])
    catalog.record([_lineage(B, "first", [A])])
    assert len(catalog.produced(B)) == 1


def test_the_same_output_from_another_run_is_a_second_producer(catalog: Catalog) -> None:
    catalog.record([_lineage(B, "first", [A], run="r1"), _lineage(B, "first", [A], run="r2")])
    assert [entry.run_id for entry in catalog.produced(B)] == ["r1", "r2"]


def test_roots_are_every_named_version_and_every_run_output(catalog: Catalog) -> None:
    catalog.name("report", A)
    catalog.name("report", B)
    catalog.record([_lineage(C, "n", [A])])
    assert sorted(catalog.roots()) == sorted([A, B, C])


def test_two_catalogs_on_one_database_number_versions_without_a_gap_or_clash(tmp_path: Path) -> None:
    first, second = Catalog(Database(tmp_path / "index.db")), Catalog(Database(tmp_path / "index.db"))
    numbers = [(first if i % 2 else second).name("shared", cid(str(i).encode())).version for i in range(6)]
    assert numbers == [1, 2, 3, 4, 5, 6]


def test_gc_keeps_named_versions_and_run_outputs_of_a_store_in_any_process(tmp_path: Path) -> None:
    writer = ArtifactStore(tmp_path / "artifacts", StoreOptions(gc_grace=0))
    named, produced, loose = (writer.put_sync(content) for content in (b"named", b"produced", b"loose"))
    writer.catalog.name("report", named)
    writer.catalog.record([_lineage(produced, "n", [named])])
    collector = ArtifactStore(tmp_path / "artifacts", StoreOptions(gc_grace=0))  # as `symphony artifacts gc` opens it
    assert collector.gc().objects == [loose]


NAMER = """
import hashlib, sys
from pathlib import Path
from symphony.builtin_plugins.pit.artifacts.catalog import Catalog
from symphony.builtin_plugins.pit.artifacts.db import Database

catalog = Catalog(Database(Path(sys.argv[1])))
for i in range(40):
    catalog.name("shared", "sha256:" + hashlib.sha256(f"{sys.argv[2]}-{i}".encode()).hexdigest())
"""


@pytest.mark.slow
def test_two_processes_naming_at_once_get_every_number_once(tmp_path: Path) -> None:
    Catalog(Database(tmp_path / "index.db"))  # tables exist before the race
    writers = [
        subprocess.Popen([sys.executable, "-c", NAMER, str(tmp_path / "index.db"), who], stderr=subprocess.PIPE)
        for who in ("a", "b")
    ]
    for writer in writers:
        _, errors = writer.communicate(timeout=120)
        assert writer.returncode == 0, errors.decode()
    history = Catalog(Database(tmp_path / "index.db")).history("shared")
    assert [v.version for v in history] == list(range(1, 81))
    assert len({v.artifact_id for v in history}) == 80
