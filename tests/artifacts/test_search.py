"""Full-text search of artifacts: a real Tantivy index on disk, over a real store."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from sqlalchemy import delete

from symphony.builtin_plugins.pit.artifacts import ArtifactStore
from symphony.builtin_plugins.pit.artifacts.crypto import AesGcmSealer
from symphony.builtin_plugins.pit.artifacts.db import ObjectRow
from symphony.builtin_plugins.pit.artifacts.search import (
    ArtifactSearch,
    Document,
    Filters,
    Hit,
    SearchIndex,
    document_of,
)
from symphony.hookspecs import ValidationError


def doc(artifact_id: str, text: bytes, created_at: float = 1000.0, **metadata: object) -> Document:
    return document_of(artifact_id, text, metadata, created_at)


@pytest.fixture
def index(tmp_path: Path) -> SearchIndex:
    index = SearchIndex(tmp_path / "search")
    index.add(
        [
            doc(
                "report",
                b"quarterly revenue grew in every region",
                name="q3-report",
                type="text/plain",
                tags=["finance"],
            ),
            doc("notes", b"meeting notes: revenue targets and hiring", producer="summarise", created_at=2000.0),
            doc("image", b"\x89PNG\r\n\x1a\n\x00\x00binary", name="sales-chart", type="image/png"),
        ]
    )
    return index


def ids(hits: Sequence[Hit]) -> list[str]:
    return sorted(hit.artifact_id for hit in hits)


def test_a_term_query_finds_every_artifact_whose_text_or_name_has_the_term(index: SearchIndex) -> None:
    hits, _ = index.search("revenue")
    assert ids(hits) == ["notes", "report"]


def test_binary_content_is_not_indexed_but_its_name_is(index: SearchIndex) -> None:
    assert ids(index.search("binary")[0]) == []
    assert ids(index.search("chart")[0]) == ["image"]


def test_the_type_filter_keeps_only_artifacts_of_that_type(index: SearchIndex) -> None:
    assert ids(index.search("revenue", filters=Filters(type="text/plain"))[0]) == ["report"]


def test_the_tag_filter_keeps_only_artifacts_with_every_tag(index: SearchIndex) -> None:
    assert ids(index.search("revenue", filters=Filters(tags=("finance",)))[0]) == ["report"]
    assert ids(index.search("revenue", filters=Filters(tags=("finance", "legal")))[0]) == []


def test_the_producer_filter_keeps_only_what_that_node_produced(index: SearchIndex) -> None:
    assert ids(index.search("revenue", filters=Filters(producer="summarise"))[0]) == ["notes"]


def test_the_time_filter_keeps_artifacts_created_in_the_range(index: SearchIndex) -> None:
    assert ids(index.search("revenue", filters=Filters(since=1500.0))[0]) == ["notes"]
    assert ids(index.search("revenue", filters=Filters(until=1500.0))[0]) == ["report"]


def test_an_empty_query_lists_every_artifact_that_passes_the_filters(index: SearchIndex) -> None:
    assert ids(index.search("", filters=Filters(since=0.0))[0]) == ["image", "notes", "report"]


def test_the_total_is_counted_only_when_asked(index: SearchIndex) -> None:
    assert index.search("revenue", limit=1)[1] is None
    hits, total = index.search("revenue", limit=1, count=True)
    assert len(hits) == 1 and total == 2


def test_indexing_an_artifact_again_replaces_its_document(index: SearchIndex) -> None:
    index.add([doc("report", b"quarterly revenue grew in every region", name="q3-report")])
    assert ids(index.search("revenue")[0]) == ["notes", "report"]
    assert ids(index.search("revenue", filters=Filters(tags=("finance",)))[0]) == []


def test_a_malformed_query_is_a_validation_error_saying_how_to_write_it(index: SearchIndex) -> None:
    with pytest.raises(ValidationError, match=r"Cannot parse search query 'name:\('.*Quote"):
        index.search("name:(")


def test_higher_quality_ranks_first_among_equal_text_matches(tmp_path: Path) -> None:
    quality = {"plain": 0.5, "good": 0.5}

    def rate(hits: Sequence[Hit]) -> Mapping[str, float]:
        return {hit.artifact_id: quality[hit.artifact_id] for hit in hits}

    index = SearchIndex(tmp_path / "search", quality=rate)
    index.add([doc("plain", b"the revenue figures"), doc("good", b"the revenue figures")])
    first = index.search("revenue")[0][0].artifact_id
    quality[{"plain": "good", "good": "plain"}[first]] = 0.9
    assert index.search("revenue")[0][0].artifact_id != first


def test_quality_outweighs_a_small_difference_in_relevance(tmp_path: Path) -> None:
    quality = {"often": 0.0, "once": 1.0}
    index = SearchIndex(tmp_path / "search", quality=lambda hits: quality)
    index.add([doc("often", b"revenue revenue and costs"), doc("once", b"revenue and costs")])
    hits = index.search("revenue")[0]
    assert hits[0].relevance < hits[1].relevance
    assert [hit.artifact_id for hit in hits] == ["once", "often"]


def test_text_is_indexed_when_the_type_says_text_even_with_a_bad_byte(tmp_path: Path) -> None:
    document = document_of("log", b"disk full \xff on node", {"type": "text/plain"}, 0.0)
    assert "disk full" in document.text
    assert document_of("blob", b"disk full \xff on node", {}, 0.0).text == ""


def found(search: ArtifactSearch, query: str) -> list[str]:
    return [hit.artifact_id for hit in search.search(query)[0]]


def test_a_stored_text_artifact_is_found_by_a_word_deep_inside_it(store: ArtifactStore) -> None:
    long_text = b"filler line of an ordinary log\n" * 10_000 + b"kernel panic at the end"  # chunked, not inline
    artifact = store.put_sync(long_text, {"name": "boot.log"})
    assert found(ArtifactSearch(store), "panic") == [artifact]


def test_an_artifact_stored_after_a_search_is_found_by_the_next(store: ArtifactStore) -> None:
    search = ArtifactSearch(store)
    assert found(search, "revenue") == []
    artifact = store.put_sync(b"revenue grew", {})
    assert found(search, "revenue") == [artifact]


def in_another_process(store: ArtifactStore, *lines: str) -> str:
    """Run ``lines`` in a new Python process with ``store`` opened on the same root; what it printed."""
    script = "\n".join(
        [
            "from pathlib import Path",
            "from symphony.builtin_plugins.pit.artifacts import ArtifactStore",
            "from symphony.builtin_plugins.pit.artifacts.search import ArtifactSearch",
            f"store = ArtifactStore(Path({str(store.root)!r}))",
            *lines,
        ]
    )
    return subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout.strip()


def test_an_artifact_stored_by_another_process_is_found(store: ArtifactStore) -> None:
    search = ArtifactSearch(store)
    assert found(search, "elsewhere") == []
    artifact = in_another_process(store, "print(store.put_sync(b'written elsewhere', {}))")
    assert found(search, "elsewhere") == [artifact]


def test_a_deleted_index_is_rebuilt_from_the_store_when_opened(store: ArtifactStore) -> None:
    artifact = store.put_sync(b"quarterly revenue", {})
    ArtifactSearch(store).search("revenue")
    ArtifactSearch(store).index.destroy()
    assert found(ArtifactSearch(store), "revenue") == [artifact]


def test_reindex_rebuilds_the_index_from_the_store(store: ArtifactStore) -> None:
    artifacts = {store.put_sync(f"report number {n}".encode(), {}) for n in range(3)}
    search = ArtifactSearch(store)
    search.search("report")
    assert search.reindex() == 3
    assert set(found(search, "report")) == artifacts


def test_a_crash_after_the_index_commit_but_before_its_record_leaves_one_document(store: ArtifactStore) -> None:
    artifact = store.put_sync(b"quarterly revenue", {})
    ArtifactSearch(store).index.add([document_of(artifact, b"quarterly revenue", {}, 0.0)])  # not recorded
    hits, total = ArtifactSearch(store).search("revenue", count=True)
    assert [hit.artifact_id for hit in hits] == [artifact] and total == 1


def test_an_artifact_gone_from_the_store_is_not_a_result(store: ArtifactStore) -> None:
    kept, collected = store.put_sync(b"kept revenue", {}), store.put_sync(b"collected revenue", {})
    search = ArtifactSearch(store)
    search.search("revenue")
    with store.db.session() as session:  # as gc removes an object
        session.execute(delete(ObjectRow).where(ObjectRow.id == collected))
    assert found(search, "revenue") == [kept]
    assert found(ArtifactSearch(store), "revenue") == [kept]


def test_an_upvote_lifts_an_artifact_above_an_equally_relevant_one(store: ArtifactStore) -> None:
    first, second = store.put_sync(b"the revenue summary", {}), store.put_sync(b"a revenue summary", {})
    search = ArtifactSearch(store)
    below = found(search, "revenue")[1]
    search.scorer.record(below, "feedback", +1)
    assert found(search, "revenue")[0] == below
    assert {first, second} == set(found(search, "revenue"))


def test_a_word_of_any_metadata_value_finds_the_artifact(store: ArtifactStore) -> None:
    report = store.put_sync(b"{}", {"kind": "Report", "node": "summarise"})
    store.put_sync(b"x", {"kind": "log"})
    assert found(ArtifactSearch(store), "report") == [report]


def test_an_artifact_another_process_stored_and_indexed_is_found(store: ArtifactStore) -> None:
    search = ArtifactSearch(store)
    assert found(search, "elsewhere") == []
    artifact = in_another_process(
        store,
        "artifact = store.put_sync(b'written and indexed elsewhere', {})",
        "assert [hit.artifact_id for hit in ArtifactSearch(store).search('elsewhere')[0]] == [artifact]",
        "print(artifact)",
    )
    assert found(search, "elsewhere") == [artifact]


def test_an_encrypted_store_indexes_metadata_but_never_the_sealed_text(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "sealed", sealer=AesGcmSealer(bytes(range(32))))
    secret = store.put_sync(b"the merger closes on friday", {"name": "board-minutes"})
    search = ArtifactSearch(store)
    assert found(search, "merger") == []
    assert found(search, "minutes") == [secret]
    assert not any(
        b"merger" in path.read_bytes() for path in (tmp_path / "sealed" / "search").rglob("*") if path.is_file()
    )


def test_a_damaged_index_is_rebuilt_from_the_store_when_opened(store: ArtifactStore) -> None:
    artifact = store.put_sync(b"quarterly revenue", {})
    ArtifactSearch(store).search("revenue")
    (store.root / "search" / "meta.json").write_bytes(b"torn write")
    assert found(ArtifactSearch(store), "revenue") == [artifact]
