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
import json
import sqlite3
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import msgspec
from sqlalchemy import func, select

from symphony.hookspecs import ArtifactId, ArtifactScoreSignal, DataError, NotFoundError, ValidationError
from symphony.hookspecs.ports import ArtifactInfo, ArtifactLineage, ArtifactVersion

from .backend import Backend, LocalBackend
from .catalog import Catalog
from .chunking import Chunker
from .db import ChunkRow, Database, ObjectRow, PackRow
from .digest import Digest
from .errors import ArtifactCorruptError
from .maintenance import GcReport, Problem, collect, verify
from .options import StoreOptions
from .packs import PackHeader, PackWriter, pack_key
from .repair import RepairReport, repair
from .scores import BUILTIN_SIGNALS
from .sealing import Bytes, PlainSealer, Sealer
from .search import ArtifactSearch
from .workers import Workers

__all__ = ["ArtifactStore", "ChunkLocation", "GcReport", "Problem", "StoreStats"]

_PREFIX = "sha256:"
_BLOCK = 1024 * 1024  # how much of a file or stream a put reads at once
_READ_RUN = 8 * 1024 * 1024  # the most bytes of adjacent chunks one backend read fetches
_IDS_PER_QUERY = 10_000  # chunk ids per statement, passed as one JSON array (one cached statement for any count)

RootProvider = Callable[[], Iterable[str]]
#: Threads writing full packs (mostly waiting for the disk or the network) while their puts go on cutting.
_PACK_WRITERS = Workers("artifact-pack", 4)

_LOCATE = 'SELECT id, pack, "offset", length, sealed_length FROM chunks WHERE id IN (SELECT value FROM json_each(?))'
_STORED = "SELECT id FROM chunks WHERE id IN (SELECT value FROM json_each(?))"
_ADD_PACK = "INSERT INTO packs (id, key_id, sealer, size, created_at, state) VALUES (?, ?, ?, ?, ?, 'live')"
# Another writer may have stored the same chunk meanwhile: the first row wins, our copy is dead weight.
_ADD_CHUNK = (
    'INSERT INTO chunks (id, pack, "offset", length, sealed_length) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING'
)
_TOUCH_OBJECT = "UPDATE objects SET created_at = ?, metadata = coalesce(?, metadata) WHERE id = ?"
_ADD_OBJECT = "INSERT INTO objects (id, size, inline, chunk_ids, created_at, metadata) VALUES (?, ?, ?, ?, ?, ?)"
_OBJECT = "SELECT size, inline, chunk_ids FROM objects WHERE id = ?"


class StoreStats(msgspec.Struct, frozen=True, kw_only=True):
    logical_bytes: int  # the sum of every object's size
    stored_bytes: int  # pack bytes plus inline bytes: what the store occupies
    objects: int
    chunks: int
    packs: int
    dedup_ratio: float  # logical / stored (1.0 when empty)


class ChunkLocation(NamedTuple):
    """Where a chunk's sealed bytes are: a row of ``chunks``, read without the ORM."""

    id: str
    pack: str
    offset: int
    length: int
    sealed_length: int


class _Object(NamedTuple):
    id: str
    size: int
    inline: bytes | None
    chunk_ids: list[str]


_SCRATCH = threading.local()
_SCRATCH_MAX = 2 * _BLOCK  # larger runs get a buffer of their own: the read dwarfs the allocation


def _scratch(run: list[ChunkLocation]) -> memoryview | None:
    """A buffer this thread keeps for the sealed bytes of ``run``, or None for a run too large to keep one for.

    Each fresh megabyte buffer costs page faults (the allocator returns freed ones to the system), which
    made a 1 MiB encrypted get three times slower than the reads and decryption it does.
    """
    size = run[-1].offset + run[-1].sealed_length - run[0].offset
    if size > _SCRATCH_MAX:
        return None
    buffer: bytearray | None = getattr(_SCRATCH, "buffer", None)
    if buffer is None:
        buffer = _SCRATCH.buffer = bytearray(_SCRATCH_MAX)
    return memoryview(buffer)[:size]


def _checked(artifact_id: str) -> str:
    digest = artifact_id.removeprefix(_PREFIX)
    if not artifact_id.startswith(_PREFIX) or len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
        raise ValidationError(f"Invalid artifact id {artifact_id!r}: expected 'sha256:' and 64 hex digits.")
    return artifact_id


def _in_batches(connection: sqlite3.Connection, query: str, chunk_ids: Collection[str]) -> Iterator[Any]:
    """The rows of ``query`` for the chunks in ``chunk_ids``, a bounded number of ids per statement."""
    ids = list(chunk_ids)
    for start in range(0, len(ids), _IDS_PER_QUERY):
        yield from connection.execute(query, (json.dumps(ids[start : start + _IDS_PER_QUERY]),))


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
        self._hash = Digest(_BLOCK)  # on a worker thread, while this one cuts and names the chunks
        self._chunker = Chunker(store.options.min_chunk, store.options.avg_chunk, store.options.max_chunk)
        self._head = bytearray()  # the first bytes, until the object is known not to be inline
        self._chunked = False
        self.pack = PackWriter(store.backend, store.sealer.name, store.sealer.key_id)
        self._written: Future[None] | None = None  # the previous full pack, written and recorded meanwhile
        self._batch: list[tuple[str, memoryview]] = []
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
        self._wait_written()
        self._store._commit(artifact_id, self, metadata)
        return artifact_id

    @property
    def inline(self) -> Bytes | None:
        """The whole content when it is small enough to live in index.db, sealed like a chunk named by its id."""
        if self._chunked:
            return None
        return self._store.sealer.seal(_PREFIX + self._hash.hexdigest(), bytes(self._head))

    def _add(self, chunk: memoryview) -> None:
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
        with self._store.db.connection(readonly=True) as connection:
            stored = {chunk_id for (chunk_id,) in _in_batches(connection, _STORED, [c for c, _ in self._batch])}
        for chunk_id, chunk in self._batch:
            if chunk_id not in stored:
                self.pack.add(chunk_id, len(chunk), self._store.sealer.seal(chunk_id, chunk))
                if self.pack.size >= self._store.options.pack_size:
                    self._write_pack()
        self._batch.clear()

    def _write_pack(self) -> None:
        """Write and record the full pack on a worker thread while this one fills the next (two packs in memory)."""
        self._wait_written()
        full = self.pack
        self.pack = PackWriter(self._store.backend, self._store.sealer.name, self._store.sealer.key_id)
        self._written = _PACK_WRITERS.submit(self._store._commit_pack, full)

    def _wait_written(self) -> None:
        if self._written is not None:
            written, self._written = self._written, None
            written.result()


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
            with self.db.connection() as connection:
                self._record_pack(connection, *written)

    def _record_pack(self, connection: sqlite3.Connection, pack_id: str, header: PackHeader, body: int) -> None:
        size = body + sum(entry.sealed_length for entry in header.chunks)
        connection.execute(_ADD_PACK, (pack_id, header.key_id, header.sealer, size, header.created_at))
        connection.executemany(
            _ADD_CHUNK, [(e.chunk_id, pack_id, body + e.offset, e.length, e.sealed_length) for e in header.chunks]
        )

    def _commit(self, artifact_id: ArtifactId, put: _Put, metadata: Mapping[str, Any] | None) -> None:
        last = put.pack.flush() if len(put.pack) else None  # before the transaction: no lock held while writing
        encoded = None if metadata is None else json.dumps(dict(metadata))
        try:
            with self.db.connection() as connection:
                if last is not None:
                    self._record_pack(connection, *last)
                needed = set(put.chunk_ids)
                missing = len(needed) - sum(1 for _ in _in_batches(connection, _STORED, needed))
                if missing:  # gc collected a chunk this put found stored, between the lookup and now
                    raise DataError(
                        f"Could not store {artifact_id}: {missing} of its chunks were garbage-collected while"
                        " it was being written. Store it again."
                    )
                now = time.time()  # stored again: live for another grace period, like a new object
                if not connection.execute(_TOUCH_OBJECT, (now, encoded, artifact_id)).rowcount:
                    chunk_ids = msgspec.msgpack.encode(put.chunk_ids)
                    row = (artifact_id, put.size, put.inline, chunk_ids, now, encoded or "{}")
                    connection.execute(_ADD_OBJECT, row)
        except DataError:
            if last is not None:  # recorded by nothing now: do not leave it for gc
                self.backend.delete(pack_key(last[0]))
            raise

    # -- reading ------------------------------------------------------------------------

    def _object(self, connection: sqlite3.Connection, artifact_id: str) -> _Object:
        row = connection.execute(_OBJECT, (_checked(artifact_id),)).fetchone()
        if row is None:
            raise NotFoundError(f"No artifact {artifact_id} in {self.root}.")
        size, inline, chunk_ids = row
        return _Object(artifact_id, size, inline, msgspec.msgpack.decode(chunk_ids) if inline is None else [])

    def _located(self, artifact_id: str) -> tuple[_Object, list[ChunkLocation]]:
        """The object and where each of its chunks is, in order, read in one snapshot."""
        with self.db.connection(readonly=True) as connection:
            row = self._object(connection, artifact_id)
            if not row.chunk_ids:
                return row, []
            where = {r[0]: ChunkLocation(*r) for r in _in_batches(connection, _LOCATE, set(row.chunk_ids))}
        try:
            return row, [where[chunk_id] for chunk_id in row.chunk_ids]
        except KeyError as error:
            raise ArtifactCorruptError(f"chunk {error.args[0]} of {row.id}", "index.db (no pack holds it)") from None

    def _runs(self, chunks: list[ChunkLocation]) -> Iterator[list[ChunkLocation]]:
        """``chunks`` grouped into runs adjacent in one pack, each fetched by one backend read."""
        run: list[ChunkLocation] = []
        for chunk in chunks:
            if run and (
                chunk.pack != run[-1].pack
                or chunk.offset != run[-1].offset + run[-1].sealed_length
                or chunk.offset + chunk.sealed_length - run[0].offset > _READ_RUN
            ):
                yield run
                run = []
            run.append(chunk)
        if run:
            yield run

    def _read_run(self, run: list[ChunkLocation], into: memoryview | None = None) -> Bytes:
        """The sealed bytes of ``run``, read into ``into`` when given (as long as the run)."""
        start = run[0].offset
        length = run[-1].offset + run[-1].sealed_length - start
        key = pack_key(run[0].pack)
        data: Bytes
        try:
            if into is not None:
                got = self.backend.read_into(key, start, into)
                data = into[:got]
            else:
                data = self.backend.read(key, start, length)
        except NotFoundError:
            raise ArtifactCorruptError(f"chunk {run[0].id}", f"{key} (the pack is missing)") from None
        if len(data) != length:
            raise ArtifactCorruptError(f"chunk {run[-1].id}", f"{key} (the pack is truncated)")
        return data

    def check_chunk(self, chunk: ChunkLocation | ChunkRow, data: Bytes) -> Bytes:
        if len(data) != chunk.length or self.sealer.chunk_id(data) != chunk.id:
            raise ArtifactCorruptError(f"chunk {chunk.id}", f"{pack_key(chunk.pack)} offset {chunk.offset}")
        return data

    def get_sync(self, artifact_id: str) -> bytes:
        """The whole content, checked against its id (and, on a mismatch, chunk by chunk to say where).

        Chunks are read (and opened) straight into one buffer the object's size: plain runs with one
        ``preadv`` each, sealed ones through a scratch buffer decrypted in place.  Each run is hashed
        on a worker thread while the next is read.
        """
        row, chunks = self._located(artifact_id)
        digest = Digest(_READ_RUN // 2)  # objects of several runs: hashing one while the next is read
        runs = list(self._runs(chunks))
        plain = isinstance(self.sealer, PlainSealer)
        if row.inline is not None:
            data = self.sealer.open(row.id, row.inline)
            digest.update(data)
        elif plain and len(runs) == 1:  # the whole content at one place: one read, no buffer to fill and copy
            data = bytes(self._read_run(runs[0]))  # bytes already: not copied
            digest.update(data)
        else:
            content = bytearray(sum(chunk.length for chunk in chunks))
            view, at = memoryview(content), 0
            for run in runs:
                start = at
                if plain:  # sealed bytes are the content: read them where they belong
                    at += sum(chunk.sealed_length for chunk in run)
                    self._read_run(run, view[start:at])
                else:
                    sealed, offset = memoryview(self._read_run(run, _scratch(run))), 0
                    for chunk in run:
                        part = sealed[offset : offset + chunk.sealed_length]
                        self.sealer.open_into(chunk.id, part, view[at : at + chunk.length])
                        offset += chunk.sealed_length
                        at += chunk.length
                digest.update(view[start:at])
            data = bytes(content)  # while the last run is hashed
        if len(data) != row.size or digest.hexdigest() != row.id.removeprefix(_PREFIX):
            at = 0
            for chunk in chunks:  # say which chunk is damaged (hashing each only when the whole is wrong)
                self.check_chunk(chunk, memoryview(data)[at : at + chunk.length])
                at += chunk.length
            raise ArtifactCorruptError(f"object {row.id}", "index.db" if row.inline is not None else "its chunk list")
        return data

    async def get(self, artifact_id: str) -> bytes:
        return await asyncio.to_thread(self.get_sync, artifact_id)

    async def retrieve(self, artifact_id: ArtifactId) -> bytes:
        return await self.get(artifact_id)

    def iter_sync(self, artifact_id: str) -> Iterator[bytes]:
        """The content chunk by chunk, each checked before it is yielded; the whole digest checked at the end."""
        row, chunks = self._located(artifact_id)
        digest = hashlib.sha256()
        for part in self._parts(row, chunks):
            digest.update(part)
            yield part
        if digest.hexdigest() != row.id.removeprefix(_PREFIX):
            raise ArtifactCorruptError(f"object {row.id}", "its chunk list")

    def _parts(self, row: _Object, chunks: list[ChunkLocation]) -> Iterator[bytes]:
        if row.inline is not None:
            yield self.sealer.open(row.id, row.inline)
            return
        for run in self._runs(chunks):
            sealed, offset = memoryview(self._read_run(run)), 0
            for chunk in run:
                part = self.sealer.open(chunk.id, bytes(sealed[offset : offset + chunk.sealed_length]))
                yield bytes(self.check_chunk(chunk, part))
                offset += chunk.sealed_length

    async def open(self, artifact_id: str) -> AsyncIterator[bytes]:
        parts = self.iter_sync(artifact_id)
        while (part := await asyncio.to_thread(next, parts, None)) is not None:
            yield part

    async def info(self, artifact_id: ArtifactId) -> ArtifactInfo:
        infos = await asyncio.to_thread(self.infos, [_checked(artifact_id)])
        if not infos:
            raise NotFoundError(f"No artifact {artifact_id} in {self.root}.")
        return infos[0]

    async def versions(self, artifact_id: ArtifactId) -> list[ArtifactVersion]:
        """The ArtifactHistory capability: every version of each name pointing at the artifact."""
        await self.info(artifact_id)  # NotFoundError for an unknown one
        return await asyncio.to_thread(self.catalog.versions_of, artifact_id)

    async def lineage(self, artifact_id: ArtifactId) -> ArtifactLineage:
        """The ArtifactHistory capability: what produced the artifact and what used it."""
        await self.info(artifact_id)
        return await asyncio.to_thread(self.catalog.lineage_of, artifact_id)

    def infos(self, artifact_ids: Collection[str]) -> list[ArtifactInfo]:
        """The size and metadata of each of ``artifact_ids`` still stored, in their order, in one query."""
        query = "SELECT id, size, metadata FROM objects WHERE id IN (SELECT value FROM json_each(?))"
        with self.db.connection(readonly=True) as connection:
            found = {
                i: ArtifactInfo(artifact_id=ArtifactId(i), size=size, metadata=json.loads(meta or "{}"))
                for i, size, meta in _in_batches(connection, query, artifact_ids)
            }
        return [found[i] for i in artifact_ids if i in found]

    @functools.cached_property
    def finder(self) -> ArtifactSearch:
        """Full-text search and quality scores (pit/artifacts/search.py), opened when first used."""
        return ArtifactSearch(self, self.score_signals)

    async def search(self, query: str, limit: int = 20) -> list[ArtifactInfo]:
        """The ``limit`` best artifacts for ``query`` (words of their text or metadata), ranked with quality."""
        return await asyncio.to_thread(self._search, query, limit)

    def _search(self, query: str, limit: int) -> list[ArtifactInfo]:
        hits, _ = self.finder.search(query, limit)
        return self.infos([hit.artifact_id for hit in hits])

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

    def repair(self) -> RepairReport:
        """Rebuild the chunk rows objects need from the pack headers (``verify --repair``); what was rebuilt."""
        return repair(self)

    def gc(self, dry_run: bool = False) -> GcReport:
        """Delete what no root provider reaches and is older than ``gc_grace``; ``dry_run`` only reports it."""
        return collect(self, dry_run=dry_run)
