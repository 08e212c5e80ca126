"""Full-text search of artifacts: a Tantivy index under ``<store root>/search/``.

The store is the source of truth and the index a cache of it: every document
is keyed by its artifact id and written by delete-then-add, so indexing an
artifact twice (a replay after a crash) leaves one document.  The index
records the store generation it last caught up with in ``search/generation``
after each commit; when that differs from the store's on open (a crash
between the store's transaction and the index commit, or a deleted index),
the index is rebuilt from the store.  Ranking multiplies Tantivy's BM25 by
``0.5 + quality`` (docs/artifacts.md, "Search and quality").
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec
import tantivy
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_random_exponential

from symphony.hookspecs import ValidationError, atomic_write

__all__ = ["TEXT_LIMIT", "Document", "Filters", "Hit", "SearchIndex", "document_of"]

#: Bytes of an artifact's content that are indexed as text (larger text is cut there).
TEXT_LIMIT = 1 << 20
#: How many text matches are re-ranked by quality per result asked for.
_CANDIDATES_PER_RESULT = 5
_MIN_CANDIDATES = 50
#: The quality of an artifact no signal rated.
NEUTRAL = 0.5
_TEXT_TYPES = ("text/", "application/json", "application/toml", "application/yaml", "application/xml")


class Document(msgspec.Struct, frozen=True, kw_only=True):
    """What the index holds of one artifact."""

    artifact_id: str
    created_at: float
    name: str = ""
    type: str = ""
    producer: str = ""
    tags: tuple[str, ...] = ()
    text: str = ""


class Filters(msgspec.Struct, frozen=True, kw_only=True):
    """Conditions every hit must meet, besides matching the query."""

    type: str | None = None
    tags: tuple[str, ...] = ()
    producer: str | None = None
    since: float | None = None
    until: float | None = None


class Hit(msgspec.Struct, frozen=True, kw_only=True):
    """One ranked result: ``score`` is ``relevance * (0.5 + quality)``."""

    artifact_id: str
    score: float
    relevance: float
    quality: float


def _is_text_type(content_type: str) -> bool:
    return content_type.startswith(_TEXT_TYPES) or content_type.endswith(("+json", "+xml"))


def document_of(artifact_id: str, content: bytes, metadata: Mapping[str, Any], created_at: float) -> Document:
    """The index document of an artifact: its metadata, and its text when it is text.

    Content is text when its metadata ``type`` (or ``content_type``) says so,
    or when no type is given and its first ``TEXT_LIMIT`` bytes decode as UTF-8.
    """
    content_type = str(metadata.get("type") or metadata.get("content_type") or "")
    head = content[:TEXT_LIMIT]
    text = ""
    if not content_type or _is_text_type(content_type):
        try:
            text = head.decode("utf-8", errors="strict" if not content_type else "replace")
        except UnicodeDecodeError as error:  # cut inside a character, or binary
            text = head[: error.start].decode("utf-8") if error.start >= len(head) - 3 else ""
        if "\x00" in text:  # binary that happens to be valid UTF-8
            text = ""
    tags = metadata.get("tags") or ()
    return Document(
        artifact_id=artifact_id,
        created_at=created_at,
        name=str(metadata.get("name") or ""),
        type=content_type,
        producer=str(metadata.get("producer") or ""),
        tags=tuple(str(tag) for tag in ([tags] if isinstance(tags, str) else tags)),
        text=text,
    )


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("name", stored=True)
    builder.add_text_field("text")
    builder.add_text_field("type", stored=True, tokenizer_name="raw")
    builder.add_text_field("producer", stored=True, tokenizer_name="raw")
    builder.add_text_field("tag", stored=True, tokenizer_name="raw")
    builder.add_float_field("created_at", stored=True, indexed=True, fast=True)
    return builder.build()


class _WriterBusy(Exception):
    """Another process holds the index's writer lock."""


class SearchIndex:
    """The Tantivy index of one store; ``quality(ids)`` gives live quality scores for ranking."""

    def __init__(self, directory: Path, quality: Callable[[Sequence[Hit]], Mapping[str, float]] | None = None) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._schema = _schema()
        self._index = tantivy.Index(self._schema, path=str(directory), reuse=True)
        self._quality = quality
        self._marker = directory / "generation"

    @property
    def generation(self) -> str | None:
        """The store generation the index last caught up with (None: never, or unknown)."""
        try:
            return self._marker.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def add(self, documents: Iterable[Document], generation: str | None = None) -> None:
        """Index ``documents`` (replacing earlier documents of the same ids), then record ``generation``."""

        def fill(writer: tantivy.IndexWriter) -> None:
            for document in documents:
                self._put(writer, document)

        self._write(fill, generation)

    def delete(self, artifact_ids: Iterable[str], generation: str | None = None) -> None:
        """Drop the documents of ``artifact_ids`` (e.g. after garbage collection)."""

        def drop(writer: tantivy.IndexWriter) -> None:
            for artifact_id in artifact_ids:
                writer.delete_documents_by_term("id", artifact_id)

        self._write(drop, generation)

    def rebuild(self, documents: Iterable[Document], generation: str) -> int:
        """Replace the whole index with ``documents`` from the store; returns how many were indexed."""
        count = 0

        def fill(writer: tantivy.IndexWriter) -> None:
            nonlocal count
            writer.delete_all_documents()
            for document in documents:
                self._put(writer, document)
                count += 1

        self._write(fill, generation)
        return count

    def sync(self, documents: Callable[[], Iterable[Document]], generation: str) -> bool:
        """Rebuild from the store when the index is behind ``generation``; True when it rebuilt."""
        if self.generation == generation:
            return False
        self.rebuild(documents(), generation)
        return True

    def destroy(self) -> None:
        """Remove the index files (``reindex`` rebuilds from the store)."""
        shutil.rmtree(self.directory, ignore_errors=True)

    def _put(self, writer: tantivy.IndexWriter, document: Document) -> None:
        writer.delete_documents_by_term("id", document.artifact_id)
        fields: dict[str, Any] = {"id": document.artifact_id, "created_at": document.created_at}
        for key, value in (("name", document.name), ("type", document.type), ("producer", document.producer)):
            if value:
                fields[key] = value
        if document.text:
            fields["text"] = document.text
        if document.tags:
            fields["tag"] = list(document.tags)
        writer.add_document(tantivy.Document(**fields))

    @retry(
        retry=retry_if_exception_type(_WriterBusy),
        wait=wait_random_exponential(multiplier=0.01, max=0.5),
        stop=stop_after_delay(30),
        reraise=True,
    )
    def _write(self, fill: Callable[[tantivy.IndexWriter], object], generation: str | None) -> None:
        try:
            writer = self._index.writer(heap_size=32 << 20, num_threads=1)
        except ValueError as error:  # tantivy reports a held lock as a ValueError naming LockBusy
            if "lock" in str(error).lower():
                raise _WriterBusy(str(error)) from error
            raise
        try:
            fill(writer)
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise
        if generation is not None:
            atomic_write(self._marker, generation.encode())
        self._index.reload()

    def search(
        self, query: str, limit: int = 10, filters: Filters | None = None, *, count: bool = False
    ) -> tuple[list[Hit], int | None]:
        """The best ``limit`` hits for ``query`` and, when ``count``, how many documents matched.

        ``query`` is Tantivy's query language over ``name`` and ``text``
        (``name:report``, ``"exact phrase"``, ``a AND b``); an empty query
        matches everything, newest first.
        """
        try:
            parsed = (
                self._index.parse_query(query, ["name", "text"], conjunction_by_default=True)
                if query.strip()
                else tantivy.Query.all_query()
            )
        except ValueError as error:
            raise ValidationError(
                f"Cannot parse search query {query!r}: {error}. Quote words with special characters"
                ' ("a:b"), or search a field as name:WORD.'
            ) from None
        full = self._filtered(parsed, filters or Filters())
        searcher = self._index.searcher()
        wanted = max(limit * _CANDIDATES_PER_RESULT, _MIN_CANDIDATES)
        ranked_by_text = bool(query.strip())
        order = None if ranked_by_text else "created_at"  # no relevance to rank by: newest first
        result = searcher.search(full, limit=wanted, count=count, order_by_field=order)
        relevance = {
            searcher.doc(address)["id"][0]: float(key) if ranked_by_text else 1.0 for key, address in result.hits
        }
        candidates = [Hit(artifact_id=i, score=r, relevance=r, quality=NEUTRAL) for i, r in relevance.items()]
        quality = self._quality(candidates) if self._quality is not None else {}
        ranked = sorted(
            (
                Hit(artifact_id=i, relevance=r, quality=(q := quality.get(i, NEUTRAL)), score=r * (0.5 + q))
                for i, r in relevance.items()
            ),
            key=lambda hit: -hit.score,
        )
        total: int | None = result.count if count else None  # type: ignore[attr-defined]  # missing from the stubs
        return ranked[:limit], total

    def _filtered(self, query: tantivy.Query, filters: Filters) -> tantivy.Query:
        must: list[tuple[tantivy.Occur, tantivy.Query]] = [(tantivy.Occur.Must, query)]
        for field, value in (("type", filters.type), ("producer", filters.producer)):
            if value is not None:
                must.append((tantivy.Occur.Must, tantivy.Query.term_query(self._schema, field, value)))
        for tag in filters.tags:
            must.append((tantivy.Occur.Must, tantivy.Query.term_query(self._schema, "tag", tag)))
        if filters.since is not None or filters.until is not None:
            must.append(
                (
                    tantivy.Occur.Must,
                    tantivy.Query.range_query(
                        self._schema, "created_at", tantivy.FieldType.Float, filters.since, filters.until
                    ),
                )
            )
        return must[0][1] if len(must) == 1 else tantivy.Query.boolean_query(must)
