"""The artifact store: content-addressed objects cut into deduplicated chunks kept in packs.

An object's id is ``sha256:<hex>`` of its whole content.  Small objects live inline in index.db;
larger ones are cut by FastCDC, each chunk named by the sealer (its SHA-256, or a keyed HMAC when
encrypted) and stored once across every object.  Reads check the whole digest (and each chunk's
name when streaming), so damaged bytes raise ArtifactCorruptError instead of being returned.
See docs/artifacts.md for the layout, the crash-safety argument and GC.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import msgspec
from sqlalchemy import Select, func, select
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session

from symphony.hookspecs import ArtifactId, ArtifactScoreSignal, DataError, NotFoundError, ValidationError
from symphony.hookspecs.ports import ArtifactInfo

from .backend import Backend, LocalBackend
from .catalog import Catalog
from .chunking import Chunker
from .db import ChunkRow, Database, ObjectRow, PackRow
from .errors import ArtifactCorruptError
from .maintenance import GcReport, Problem, collect, verify
from .options import StoreOptions
from .packs import PackHeader, PackWriter, pack_key
from .scores import BUILTIN_SIGNALS
from .sealing import PlainSealer, Sealer
from .search import ArtifactSearch

__all__ = ["ArtifactStore", "GcReport", "Problem", "StoreStats"]

_PREFIX = "sha256:"
_BLOCK = 1024 * 1024  # how much of a file or stream a put reads at once
_READ_RUN = 8 * 1024 * 1024  # the most bytes of adjacent chunks one backend read fetches

RootProvider = Callable[[], Iterable[str]]
_T = TypeVar("_T")


class StoreStats(msgspec.Struct, frozen=True, kw_only=True):
    logical_bytes: int  # the sum of every object's size
    stored_bytes: int  # pack bytes plus inline bytes: what the store occupies
    objects: int
    chunks: int
    packs: int
    dedup_ratio: float  # logical / stored (1.0 when empty)


def _checked(artifact_id: str) -> str:
    digest = artifact_id.removeprefix(_PREFIX)
    if not artifact_id.startswith(_PREFIX) or len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
        raise ValidationError(f"Invalid artifact id {artifact_id!r}: expected 'sha256:' and 64 hex digits.")
    return artifact_id


def _in_batches(session: Session, query: Select[_T], chunk_ids: Collection[str]) -> Iterator[_T]:
    """``query`` for the chunks in ``chunk_ids``, a few thousand at a time (SQLite bounds a statement's variables)."""
    ids = list(chunk_ids)
    for start in range(0, len(ids), 10_000):
        yield from session.scalars(query.where(ChunkRow.id.in_(ids[start : start + 10_000])))


def _blocks(content: bytes | BinaryIO | Iterable[bytes]) -> Iterable[bytes]:
    """``content`` as blocks: bytes whole, a binary file (which iterates by lines) read a block at a time."""
    if isinstance(content, bytes | bytearray | memoryview):
        return [bytes(content)]
    read = getattr(content, "read", None)
    if read is not None:
        return iter(functools.partial(read, _BLOCK), b"")
    return content


class _Put:
    """One object being written: hashes it, dedups its chunks and fills a private pack."""

    def __init__(self, store: ArtifactStore) -> None:
        self._store = store
        self._hash = hashlib.sha256()
        self._chunker = Chunker(store.options.min_chunk, store.options.avg_chunk, store.options.max_chunk)
        self._head = bytearray()  # the first bytes, until the object is known not to be inline
        self._chunked = False
        self.pack = PackWriter(store.backend, store.sealer.name, store.sealer.key_id)
        self._batch: list[tuple[str, bytes]] = []
        self._known: set[str] = set()  # chunks this put has stored or found stored
        self.chunk_ids: list[str] = []
        self.size = 0

    def feed(self, block: bytes) -> None:
        self._hash.update(block)
        self.size += len(block)
        if not self._chunked:
            if len(self._head) + len(block) <= self._store.options.inline_limit:
                self._head += block
                return
            self._chunked = True
            if self._head:  # a large first block is chunked as it is, without a copy
                block = bytes(self._head) + block
                self._head.clear()
        for chunk in self._chunker.feed(block):
            self._add(chunk)

    def finish(self, metadata: Mapping[str, Any] | None) -> ArtifactId:
        artifact_id = ArtifactId(_PREFIX + self._hash.hexdigest())
        if self._chunked:
            for chunk in self._chunker.finish():
                self._add(chunk)
            self._dedup()
        self._store._commit(artifact_id, self, metadata)
        return artifact_id

    @property
    def inline(self) -> bytes | None:
        """The whole content when it is small enough to live in index.db, sealed like a chunk named by its id."""
        if self._chunked:
            return None
        return self._store.sealer.seal(_PREFIX + self._hash.hexdigest(), bytes(self._head))

    def _add(self, chunk: bytes) -> None:
        chunk_id = self._store.sealer.chunk_id(chunk)
        self.chunk_ids.append(chunk_id)
        if chunk_id not in self._known:
            self._known.add(chunk_id)
            self._batch.append((chunk_id, chunk))
            if len(self._batch) >= 256:
                self._dedup()

    def _dedup(self) -> None:
        """Seal the batch's chunks that no pack holds yet; write the pack when it is full."""
        if not self._batch:
            return
        with self._store.db.session(readonly=True) as session:
            stored = set(_in_batches(session, select(ChunkRow.id), [c for c, _ in self._batch]))
        for chunk_id, chunk in self._batch:
            if chunk_id not in stored:
                self.pack.add(chunk_id, len(chunk), self._store.sealer.seal(chunk_id, chunk))
                if self.pack.size >= self._store.options.pack_size:
                    self._store._commit_pack(self.pack)
        self._batch.clear()


class ArtifactStore:
    """The ArtifactStorePort over a backend (a local directory by default) and index.db in ``root``."""

    def __init__(
        self,
        root: Path,
        options: StoreOptions | None = None,
        *,
        backend: Backend | None = None,
        sealer: Sealer | None = None,
        score_signals: Iterable[ArtifactScoreSignal] = BUILTIN_SIGNALS,
    ) -> None:
        self.root = root
        self.options = options or StoreOptions()
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DataError(f"Cannot create the artifact store {root}: {error.strerror}.") from None
        self.backend: Backend = backend or LocalBackend(root)
        self.sealer: Sealer = sealer or PlainSealer()
        self.score_signals = tuple(score_signals)
        self.db = Database(root / "index.db")
        self.root_providers: list[RootProvider] = []
        #: Names, versions and lineage (catalog.py); their ids are live in every process that opens the store.
        self.catalog = Catalog(self.db)
        self.add_root_provider(self.catalog.roots)

    def close(self) -> None:
        self.db.close()

    def add_root_provider(self, provider: RootProvider) -> None:
        """Register ``provider``: the artifact ids it returns are live, and gc keeps them."""
        self.root_providers.append(provider)

    # -- writing ------------------------------------------------------------------------

    def put_sync(
        self, content: bytes | BinaryIO | Iterable[bytes], metadata: Mapping[str, Any] | None = None
    ) -> ArtifactId:
        """Store ``content`` (bytes, a binary file or an iterable of blocks), streamed in bounded memory."""
        put = _Put(self)
        for block in _blocks(content):
            put.feed(block)
        return put.finish(metadata)

    async def put(
        self, content: bytes | AsyncIterable[bytes] | BinaryIO, metadata: Mapping[str, Any] | None = None
    ) -> ArtifactId:
        if not isinstance(content, AsyncIterable):
            return await asyncio.to_thread(self.put_sync, content, metadata)
        put = _Put(self)
        async for block in content:
            await asyncio.to_thread(put.feed, block)
        return await asyncio.to_thread(put.finish, metadata)

    async def store(self, content: bytes, metadata: Mapping[str, Any] | None = None) -> ArtifactId:
        return await self.put(content, metadata)

    def _commit_pack(self, pack: PackWriter) -> None:
        """Write ``pack`` to the backend, then make its chunks visible; a crash in between leaves an orphan file."""
        if len(pack):
            written = pack.flush()
            with self.db.session() as session:
                self._record_pack(session, *written)

    def _record_pack(self, session: Session, pack_id: str, header: PackHeader, body: int) -> None:
        size = body + sum(entry.sealed_length for entry in header.chunks)
        session.add(
            PackRow(id=pack_id, key_id=header.key_id, sealer=header.sealer, size=size, created_at=header.created_at)
        )
        rows = [
            {
                "id": e.chunk_id,
                "pack": pack_id,
                "offset": body + e.offset,
                "length": e.length,
                "sealed_length": e.sealed_length,
            }
            for e in header.chunks
        ]
        # Another writer may have stored the same chunk meanwhile: the first row wins, our copy is dead weight.
        session.execute(insert(ChunkRow).on_conflict_do_nothing(index_elements=["id"]), rows)

    def _commit(self, artifact_id: ArtifactId, put: _Put, metadata: Mapping[str, Any] | None) -> None:
        last = put.pack.flush() if len(put.pack) else None  # before the transaction: no lock held while writing
        with self.db.session() as session:
            if last is not None:
                self._record_pack(session, *last)
            needed = set(put.chunk_ids)
            missing = len(needed - set(_in_batches(session, select(ChunkRow.id), needed)))
            if missing:  # gc collected a chunk this put found stored, between the lookup and now
                session.rollback()
                if last is not None:  # recorded by nothing now: do not leave it for gc
                    self.backend.delete(pack_key(last[0]))
                raise DataError(
                    f"Could not store {artifact_id}: {missing} of its chunks were garbage-collected while"
                    " it was being written. Store it again."
                )
            row = session.get(ObjectRow, artifact_id)
            if row is None:
                session.add(
                    ObjectRow(
                        id=artifact_id,
                        size=put.size,
                        inline=put.inline,
                        chunk_ids=msgspec.msgpack.encode(put.chunk_ids),
                        created_at=time.time(),
                        metadata_=dict(metadata or {}),
                    )
                )
            else:
                row.created_at = time.time()  # stored again: live for another grace period, like a new object
                if metadata is not None:
                    row.metadata_ = dict(metadata)

    # -- reading ------------------------------------------------------------------------

    def _object(self, artifact_id: str) -> ObjectRow:
        with self.db.session(readonly=True) as session:
            row = session.get(ObjectRow, _checked(artifact_id))
            if row is None:
                raise NotFoundError(f"No artifact {artifact_id} in {self.root}.")
            session.expunge(row)
            return row

    def _sealed_chunks(self, row: ObjectRow) -> Iterator[tuple[ChunkRow, bytes]]:
        """Each chunk of ``row`` with its sealed bytes, adjacent chunks of a pack fetched in one read."""
        chunk_ids: list[str] = msgspec.msgpack.decode(row.chunk_ids)
        with self.db.session(readonly=True) as session:
            located = {c.id: c for c in _in_batches(session, select(ChunkRow), set(chunk_ids))}
            session.expunge_all()
        run: list[ChunkRow] = []
        for chunk_id in chunk_ids:
            if (chunk := located.get(chunk_id)) is None:
                raise ArtifactCorruptError(f"chunk {chunk_id} of {row.id}", "index.db (no pack holds it)")
            if run and (
                chunk.pack != run[-1].pack
                or chunk.offset != run[-1].offset + run[-1].sealed_length
                or chunk.offset + chunk.sealed_length - run[0].offset > _READ_RUN
            ):
                yield from self._read_run(run)
                run = []
            run.append(chunk)
        if run:
            yield from self._read_run(run)

    def _read_run(self, run: list[ChunkRow]) -> Iterator[tuple[ChunkRow, bytes]]:
        start = run[0].offset
        length = run[-1].offset + run[-1].sealed_length - start
        key = pack_key(run[0].pack)
        try:
            data = self.backend.read(key, start, length)
        except NotFoundError:
            raise ArtifactCorruptError(f"chunk {run[0].id}", f"{key} (the pack is missing)") from None
        if len(data) != length:
            raise ArtifactCorruptError(f"chunk {run[-1].id}", f"{key} (the pack is truncated)")
        view = memoryview(data)
        for chunk in run:
            yield chunk, bytes(view[chunk.offset - start : chunk.offset - start + chunk.sealed_length])

    def check_chunk(self, chunk: ChunkRow, data: bytes) -> bytes:
        if len(data) != chunk.length or self.sealer.chunk_id(data) != chunk.id:
            raise ArtifactCorruptError(f"chunk {chunk.id}", f"{pack_key(chunk.pack)} offset {chunk.offset}")
        return data

    def get_sync(self, artifact_id: str) -> bytes:
        """The whole content, checked against its id (and, on a mismatch, chunk by chunk to say where)."""
        row = self._object(artifact_id)
        parts: list[tuple[ChunkRow, bytes]] = []
        if row.inline is not None:
            data = self.sealer.open(row.id, row.inline)
        else:
            parts = [(chunk, self.sealer.open(chunk.id, sealed)) for chunk, sealed in self._sealed_chunks(row)]
            data = b"".join(part for _, part in parts)
        if len(data) != row.size or hashlib.sha256(data).hexdigest() != row.id.removeprefix(_PREFIX):
            for chunk, part in parts:  # say which chunk is damaged (hashing each only when the whole is wrong)
                self.check_chunk(chunk, part)
            raise ArtifactCorruptError(f"object {row.id}", "index.db" if row.inline is not None else "its chunk list")
        return data

    async def get(self, artifact_id: str) -> bytes:
        return await asyncio.to_thread(self.get_sync, artifact_id)

    async def retrieve(self, artifact_id: ArtifactId) -> bytes:
        return await self.get(artifact_id)

    def iter_sync(self, artifact_id: str) -> Iterator[bytes]:
        """The content chunk by chunk, each checked before it is yielded; the whole digest checked at the end."""
        row = self._object(artifact_id)
        digest = hashlib.sha256()
        if row.inline is not None:
            parts: Iterator[bytes] = iter([self.sealer.open(row.id, row.inline)])
        else:
            parts = (
                self.check_chunk(chunk, self.sealer.open(chunk.id, sealed))
                for chunk, sealed in self._sealed_chunks(row)
            )
        for part in parts:
            digest.update(part)
            yield part
        if digest.hexdigest() != row.id.removeprefix(_PREFIX):
            raise ArtifactCorruptError(f"object {row.id}", "its chunk list")

    async def open(self, artifact_id: str) -> AsyncIterator[bytes]:
        parts = self.iter_sync(artifact_id)
        while (part := await asyncio.to_thread(next, parts, None)) is not None:
            yield part

    async def info(self, artifact_id: ArtifactId) -> ArtifactInfo:
        row = self._object(artifact_id)
        return ArtifactInfo(artifact_id=artifact_id, size=row.size, metadata=dict(row.metadata_))

    @functools.cached_property
    def finder(self) -> ArtifactSearch:
        """Full-text search and quality scores (pit/artifacts/search.py), opened when first used."""
        return ArtifactSearch(self, self.score_signals)

    async def search(self, query: str, limit: int = 20) -> list[ArtifactInfo]:
        """The ``limit`` best artifacts for ``query`` (words of their text or metadata), ranked with quality."""
        hits, _ = await asyncio.to_thread(self.finder.search, query, limit)
        return [await self.info(ArtifactId(hit.artifact_id)) for hit in hits]

    # -- accounting ---------------------------------------------------------------------

    def stats(self) -> StoreStats:
        with self.db.session(readonly=True) as session:
            logical, objects, inline = session.execute(
                select(
                    func.coalesce(func.sum(ObjectRow.size), 0),
                    func.count(),
                    func.coalesce(func.sum(func.length(ObjectRow.inline)), 0),
                )
            ).one()
            packed, packs = session.execute(select(func.coalesce(func.sum(PackRow.size), 0), func.count())).one()
            chunks = session.scalar(select(func.count()).select_from(ChunkRow)) or 0
        stored = packed + inline
        return StoreStats(
            logical_bytes=logical,
            stored_bytes=stored,
            objects=objects,
            chunks=chunks,
            packs=packs,
            dedup_ratio=logical / stored if stored else 1.0,
        )

    def verify(self) -> list[Problem]:
        """Walk every pack, chunk and object; every problem found, each with its fix (empty: all is well)."""
        return verify(self)

    def gc(self, dry_run: bool = False) -> GcReport:
        """Delete what no root provider reaches and is older than ``gc_grace``; ``dry_run`` only reports it."""
        return collect(self, dry_run=dry_run)
