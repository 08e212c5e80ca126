"""Full-text search of artifacts: a Tantivy index under ``<store root>/search/``.

The store is the source of truth and the index a cache of it.  Every document
is keyed by its artifact id and written by delete-then-add, so indexing an
artifact twice (a replay after a crash) leaves one document; index.db's
``search_indexed`` table lists what the index holds, written after each index
commit.  Catching up indexes the objects missing from it and drops the
documents of objects gone, so a crash anywhere loses nothing for long.
Ranking multiplies Tantivy's BM25 by ``0.5 + quality`` (docs/artifacts.md,
"Search and quality").
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import tantivy
from sqlalchemy import ColumnElement, Connection, Integer, String, delete, exists, func, literal_column, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_random_exponential

from symphony.hookspecs import ArtifactScoreSignal, ValidationError

from .db import Base, ObjectRow
from .scores import BUILTIN_SIGNALS, Rated, Scorer

if TYPE_CHECKING:
    from .store import ArtifactStore

__all__ = ["TEXT_LIMIT", "ArtifactSearch", "Document", "Filters", "Hit", "SearchIndex", "document_of"]

#: Bytes of an artifact's content that are indexed as text (larger text is cut there).
TEXT_LIMIT = 1 << 20
#: How many text matches are re-ranked by quality per result asked for.
_CANDIDATES_PER_RESULT = 3
_MIN_CANDIDATES = 20
#: SQLite's implicit row number of ``objects``: it grows with each new object.
_ROWID: ColumnElement[int] = literal_column("objects.rowid", Integer)
#: Artifacts indexed per index commit when catching up.
_CATCH_UP_BATCH = 500
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
    #: Every metadata key and value, as words (the port's search finds artifacts by their metadata).
    meta: str = ""


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
        meta=msgspec.json.encode(metadata).decode(),
    )


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("name", stored=True)
    builder.add_text_field("text")
    builder.add_text_field("meta")
    builder.add_text_field("type", stored=True, tokenizer_name="raw")
    builder.add_text_field("producer", stored=True, tokenizer_name="raw")
    builder.add_text_field("tag", stored=True, tokenizer_name="raw")
    builder.add_float_field("created_at", stored=True, indexed=True, fast=True)
    return builder.build()


class _WriterBusy(Exception):
    """Another process holds the index's writer lock."""


class SearchIndex:
    """The Tantivy index of one store; ``quality(candidates)`` rates them, and one it leaves out is no hit."""

    def __init__(self, directory: Path, quality: Callable[[Sequence[Hit]], Mapping[str, float]] | None = None) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        #: True when this opened an empty directory: nothing is indexed, whatever index.db says.
        self.fresh = not (directory / "meta.json").exists()
        self._schema = _schema()
        try:
            self._index = tantivy.Index(self._schema, path=str(directory), reuse=True)
        except ValueError:  # damaged, or written with another schema: a cache of the store, so start it again
            self.destroy()
            directory.mkdir(parents=True)
            self.fresh = True
            self._index = tantivy.Index(self._schema, path=str(directory), reuse=True)
        self._quality = quality

    def add(self, documents: Iterable[Document]) -> None:
        """Index ``documents``, replacing earlier documents of the same ids."""

        def fill(writer: tantivy.IndexWriter) -> None:
            for document in documents:
                self._put(writer, document)

        self._write(fill)

    def delete(self, artifact_ids: Iterable[str]) -> None:
        """Drop the documents of ``artifact_ids`` (e.g. after garbage collection)."""

        def drop(writer: tantivy.IndexWriter) -> None:
            for artifact_id in artifact_ids:
                writer.delete_documents_by_term("id", artifact_id)

        self._write(drop)

    def rebuild(self, documents: Iterable[Document]) -> int:
        """Replace the whole index with ``documents`` from the store; returns how many were indexed."""
        count = 0

        def fill(writer: tantivy.IndexWriter) -> None:
            nonlocal count
            writer.delete_all_documents()
            for document in documents:
                self._put(writer, document)
                count += 1

        self._write(fill)
        return count

    def refresh(self) -> None:
        """See what other processes committed since this one last looked."""
        self._index.reload()

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
        if document.meta:
            fields["meta"] = document.meta
        if document.tags:
            fields["tag"] = list(document.tags)
        writer.add_document(tantivy.Document(**fields))

    @retry(
        retry=retry_if_exception_type(_WriterBusy),
        wait=wait_random_exponential(multiplier=0.01, max=0.5),
        stop=stop_after_delay(30),
        reraise=True,
    )
    def _write(self, fill: Callable[[tantivy.IndexWriter], object]) -> None:
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
        self._index.reload()

    def search(
        self,
        query: str,
        limit: int = 10,
        filters: Filters | None = None,
        *,
        count: bool = False,
        quality: Callable[[Sequence[Hit]], Mapping[str, float]] | None = None,
    ) -> tuple[list[Hit], int | None]:
        """The best ``limit`` hits for ``query`` and, when ``count``, how many documents matched.

        ``quality`` rates the candidates instead of the index's own source (the caller's open transaction).

        ``query`` is Tantivy's query language over ``name``, ``text`` and metadata
        (``name:report``, ``"exact phrase"``, ``a AND b``); an empty query
        matches everything, newest first.
        """
        try:
            parsed = (
                self._index.parse_query(query, ["name", "text", "meta"], conjunction_by_default=True)
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
        rate = quality or self._quality
        if rate is None:
            rated: Mapping[str, float] = {}
        else:  # the quality source knows every live artifact: a candidate it does not know has been collected
            rated = rate(candidates)
            relevance = {i: r for i, r in relevance.items() if i in rated}
        ranked = sorted(
            (
                Hit(artifact_id=i, relevance=r, quality=(q := rated.get(i, NEUTRAL)), score=r * (0.5 + q))
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


class IndexedRow(Base):
    """An artifact whose document the search index holds (committed after the index commit)."""

    __tablename__ = "search_indexed"

    artifact_id: Mapped[str] = mapped_column(String, primary_key=True)


class ArtifactSearch:
    """The store's search: keeps the index caught up with the store, and ranks by text and quality."""

    def __init__(self, store: ArtifactStore, signals: Iterable[ArtifactScoreSignal] = BUILTIN_SIGNALS) -> None:
        self._store = store
        self._db = store.db
        self.scorer = Scorer(store.db, signals)  # creates search_indexed too: one Base
        self.index = SearchIndex(store.root / "search", quality=self._quality)
        self._caught_up = False
        self._seen = 0  # the highest objects rowid this process has indexed up to
        if self.index.fresh:  # a deleted or never-built index: index.db's list is stale
            with self._db.session() as session:
                session.execute(delete(IndexedRow))

    def catch_up(self, *, full: bool = True) -> int:
        """Index the objects the index lacks and drop the documents of objects gone; how many changed.

        ``full=False`` looks only at objects added since this process last looked (by rowid), which
        is one index lookup when nothing changed.
        """
        unindexed = ~exists().where(IndexedRow.artifact_id == ObjectRow.id)
        with self._db.session(readonly=True) as session:
            newer = select(ObjectRow.id).where(unindexed)
            missing = list(session.scalars(newer if full else newer.where(self._seen < _ROWID)))
            gone = (
                list(
                    session.scalars(
                        select(IndexedRow.artifact_id).where(~exists().where(ObjectRow.id == IndexedRow.artifact_id))
                    )
                )
                if full
                else []
            )
            seen = session.scalar(select(func.max(_ROWID)).select_from(ObjectRow)) or 0
        for start in range(0, len(missing), _CATCH_UP_BATCH):
            with self._db.session(readonly=True) as session:
                batch = missing[start : start + _CATCH_UP_BATCH]
                rows = list(session.scalars(select(ObjectRow).where(ObjectRow.id.in_(batch))))
                session.expunge_all()
            self._index(rows)
        if gone:
            self.index.delete(gone)
            with self._db.session() as session:
                session.execute(delete(IndexedRow).where(IndexedRow.artifact_id.in_(gone)))
        self._seen = max(self._seen, seen)
        self._caught_up = True
        return len(missing) + len(gone)

    def reindex(self) -> int:
        """Rebuild the index from the store alone; how many artifacts it now holds."""
        with self._db.session() as session:
            session.execute(delete(IndexedRow))
        self.index.rebuild(())
        return self.catch_up()

    def search(
        self, query: str, limit: int = 20, filters: Filters | None = None, *, count: bool = False
    ) -> tuple[list[Hit], int | None]:
        """The best ``limit`` artifacts for ``query`` (see SearchIndex.search), caught up with the store first."""
        if not self._caught_up:
            self.catch_up()
        with self._db.reading() as connection:  # one transaction for the whole query, without the ORM
            newest = connection.exec_driver_sql("SELECT max(rowid) FROM objects").scalar() or 0
            if newest <= self._seen:
                rate = functools.partial(self._quality, connection=connection)
                return self.index.search(query, limit, filters, count=count, quality=rate)
        self.catch_up(full=False)  # outside that snapshot, which would not see what it indexes
        self.index.refresh()  # another process may have indexed what was added
        return self.index.search(query, limit, filters, count=count)

    def _index(self, rows: Iterable[ObjectRow]) -> None:
        rows = list(rows)
        self.index.add(document_of(row.id, self._head(row), row.metadata_, row.created_at) for row in rows)
        with self._db.session() as session:
            session.execute(
                sqlite_insert(IndexedRow).on_conflict_do_nothing(),
                [{"artifact_id": row.id} for row in rows],
            )

    def _head(self, row: ObjectRow) -> bytes:
        """The first TEXT_LIMIT bytes of a possibly textual artifact (nothing of a typed binary one)."""
        content_type = str(row.metadata_.get("type") or row.metadata_.get("content_type") or "")
        if (content_type and not _is_text_type(content_type)) or self._store.sealer.key_id is not None:
            return b""  # binary, or encrypted at rest: the index is not, so it gets metadata only
        if row.inline is not None:  # sealed under its own id (store.py), opened without another lookup
            return self._store.sealer.open(row.id, row.inline)[:TEXT_LIMIT]
        head = bytearray()
        for part in self._store.iter_sync(row.id):  # each chunk checked as it is read
            head += part
            if len(head) >= TEXT_LIMIT:
                break
        return bytes(head[:TEXT_LIMIT])

    def _quality(self, hits: Sequence[Hit], connection: Connection | None = None) -> Mapping[str, float]:
        ids = tuple(hit.artifact_id for hit in hits)
        if not ids:
            return {}
        if connection is None:
            with self._db.reading() as opened:
                return self._quality(hits, opened)
        rows = connection.exec_driver_sql(
            f"SELECT id, metadata, created_at FROM objects WHERE id IN ({','.join('?' * len(ids))})",
            ids,
        ).all()
        rated = {i: Rated(msgspec.json.decode(metadata or "{}"), created_at) for i, metadata, created_at in rows}
        return self.scorer.scores(rated, connection)
