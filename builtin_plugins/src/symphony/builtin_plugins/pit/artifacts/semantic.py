"""Semantic search: artifacts ranked by the cosine of their text's sentence vector with the query's.

Vectors come from the pooled ``all-minilm-l6-v2`` model (the pool manager's
port; the model runs in its worker, never here).  They are kept in a side
index, ``<store root>/semantic/<model>@<version>.msgpack``: the content ids
embedded, the ids that have no text, and one float32 matrix, rewritten whole
and atomically when it changes.  Content ids are content hashes, so a vector
never goes stale; a new model version starts a new file.  Artifacts stored
since the last search are embedded when a search finds them missing (the
first search of a big store pays the forward pass of each: docs/embedding.md); ids
gone from the store are dropped then too.

Ranking is brute force, one matrix-vector product: about 20 ms for 100,000
artifacts.  Past that the whole-file rewrite and load (1.5 KiB per artifact)
cost more than the search, and an append-only file with an approximate
nearest-neighbour index would be the next step.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import msgspec

from symphony.hookspecs import ConfigurationError, ValidationError, atomic_write
from symphony.hookspecs.ports import PoolManagerPort

from ...orchestra.embedding.files import INSTALL_HINT
from ...orchestra.embedding.instrument import MODEL
from .search import document_of

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from .store import ArtifactStore

__all__ = ["SemanticHit", "search"]

#: Bytes of an artifact read for its vector: the model reads at most 256 tokens (~1-2 KiB of prose).
_HEAD: Final = 16 * 1024
#: Texts per call to the model's worker (bounded by its MAX_TEXTS; a batch's vectors are 1.5 KiB each).
_EMBED_BATCH: Final = 256
_QUERY_LIMIT: Final = 10_000


class SemanticHit(msgspec.Struct, frozen=True, kw_only=True):
    """One result: the artifact and its cosine similarity with the query (-1..1, higher is closer)."""

    artifact_id: str
    score: float
    #: Its metadata's ``name`` (or ``filename``), for people reading the list.
    name: str = ""


class _Saved(msgspec.Struct, frozen=True):
    model: str
    version: str
    dim: int
    ids: list[str]
    textless: list[str]
    vectors: bytes


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:
        raise ConfigurationError(f"Semantic search needs numpy; {INSTALL_HINT}.") from None
    return numpy


class _Index:
    """The side index of one model version: ids, textless ids and their (n, dim) float32 matrix."""

    def __init__(self, path: Path, version: str, dim: int) -> None:
        np = _numpy()
        self.path, self.version, self.dim = path, version, dim
        self.ids: list[str] = []
        self.textless: set[str] = set()
        self.matrix: NDArray[Any] = np.zeros((0, dim), dtype=np.float32)
        try:
            saved = msgspec.msgpack.decode(path.read_bytes(), type=_Saved)
        except (FileNotFoundError, msgspec.DecodeError):
            return  # none yet, or unreadable: it is a cache of the store, rebuilt from it
        if (saved.model, saved.version, saved.dim) == (MODEL, version, dim) and len(saved.vectors) == len(
            saved.ids
        ) * dim * 4:
            self.ids, self.textless = saved.ids, set(saved.textless)
            self.matrix = np.frombuffer(saved.vectors, dtype="<f4").reshape(len(saved.ids), dim)

    def keep_only(self, live: set[str]) -> bool:
        """Drop the entries of artifacts no longer stored; whether any were."""
        keep = [i for i, artifact_id in enumerate(self.ids) if artifact_id in live]
        gone = len(keep) != len(self.ids) or not self.textless <= live
        if gone:
            self.ids = [self.ids[i] for i in keep]
            self.matrix = self.matrix[keep]
            self.textless &= live
        return gone

    def add(self, ids: Sequence[str], vectors: NDArray[Any]) -> None:
        np = _numpy()
        self.ids = [*self.ids, *ids]
        self.matrix = np.concatenate([self.matrix, vectors])

    def save(self) -> None:
        saved = _Saved(MODEL, self.version, self.dim, self.ids, sorted(self.textless), self.matrix.tobytes())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, msgspec.msgpack.encode(saved))


def _texts(store: ArtifactStore, rows: Sequence[tuple[str, str, float]]) -> list[tuple[str, str]]:
    """(id, text) of each row; text is "" for an artifact that is not text."""
    texts = []
    for artifact_id, metadata, created_at in rows:
        head = bytearray()
        for part in store.iter_sync(artifact_id):  # each chunk checked as it is read
            head += part
            if len(head) >= _HEAD:
                break
        text = document_of(artifact_id, bytes(head[:_HEAD]), msgspec.json.decode(metadata or "{}"), created_at).text
        texts.append((artifact_id, text.strip()))
    return texts


def _rows(store: ArtifactStore) -> list[tuple[str, str, float]]:
    with store.db.connection(readonly=True) as connection:
        return list(connection.execute("SELECT id, metadata, created_at FROM objects"))


async def _embed(pool: PoolManagerPort, texts: list[str], dim: int, handle: Any) -> Any:
    np = _numpy()
    parts = []
    for start in range(0, len(texts), _EMBED_BATCH):
        answer = await pool.call(handle, "embed", {"texts": texts[start : start + _EMBED_BATCH]})
        parts.append(np.frombuffer(answer["vectors"], dtype="<f4").reshape(-1, dim))
    return np.concatenate(parts) if parts else np.zeros((0, dim), dtype=np.float32)


async def search(store: ArtifactStore, pool: PoolManagerPort, query: str, limit: int = 10) -> list[SemanticHit]:
    """The ``limit`` artifacts whose text is closest in meaning to ``query``, best first."""
    if not query.strip():
        raise ValidationError("A semantic search needs a QUERY with some words in it.")
    if limit < 1:
        raise ValidationError(f"A semantic search returns at least 1 hit; got limit={limit}.")
    if len(query) > _QUERY_LIMIT:
        raise ValidationError(f"A semantic search QUERY may be at most {_QUERY_LIMIT} characters; got {len(query)}.")
    if store.sealer.key_id is not None:
        raise ValidationError(
            "Semantic search is off for an artifact store encrypted at rest: its vectors, kept unencrypted beside"
            " the store, would reveal what the artifacts say. Use full-text search (without --semantic)."
        )
    np = _numpy()
    async with pool.use(MODEL) as handle:
        info = await pool.call(handle, "info")
        version, dim = str(info["version"]), int(info["dim"])
        index = await asyncio.to_thread(_Index, store.root / "semantic" / f"{MODEL}@{version}.msgpack", version, dim)
        rows = await asyncio.to_thread(_rows, store)
        changed = index.keep_only({row[0] for row in rows})
        known = {*index.ids, *index.textless}
        missing = [row for row in rows if row[0] not in known]
        new_ids, new_vectors = [], []
        for start in range(0, len(missing), _EMBED_BATCH):
            texts = await asyncio.to_thread(_texts, store, missing[start : start + _EMBED_BATCH])
            index.textless.update(artifact_id for artifact_id, text in texts if not text)
            textual = [(artifact_id, text) for artifact_id, text in texts if text]
            new_vectors.append(await _embed(pool, [text for _, text in textual], dim, handle))
            new_ids += [artifact_id for artifact_id, _ in textual]
        if missing:
            index.add(new_ids, np.concatenate(new_vectors))  # once: growing the matrix per batch is quadratic
        if changed or missing:
            await asyncio.to_thread(index.save)
        asked = (await _embed(pool, [query], dim, handle))[0]
    scores = index.matrix @ asked
    top = np.argpartition(-scores, limit)[:limit] if len(scores) > limit else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    infos = store.infos([index.ids[i] for i in top])
    names = {info.artifact_id: str(info.metadata.get("name") or info.metadata.get("filename") or "") for info in infos}
    return [
        SemanticHit(artifact_id=index.ids[i], score=float(scores[i]), name=names.get(index.ids[i], "")) for i in top
    ]
