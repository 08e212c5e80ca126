"""``artifact_search``: one full-text query over many indexed text artifacts.

100,000 short text artifacts (quick: 20,000), each 20 to 60 words drawn with a
fixed seed from the identifiers of the installed ``click`` sources, with a
name, a type and a tag, are put in a real store as inline objects in bulk (one
transaction per 10,000 rows rather than one put each, which would only time
fsyncs), and the store indexes them itself when first searched.  Each query is
one or two words of that vocabulary through the store's port
(``ArtifactStore.search``: Tantivy, quality scores, ``ArtifactInfo`` of each hit),
top 10.  ``ranked_median`` is the same queries through ``store.finder.search`` (ids,
relevance and quality, without the port's ``ArtifactInfo`` per hit).

Records: ``artifact_search.<median|p99>@N`` in ms, against the previous store's
search in the same run: a case-insensitive substring scan of every document.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

import click
import msgspec
from sqlalchemy import insert

from benchmarks._measure import no_gc, percentile
from benchmarks.run import Record, record
from symphony.builtin_plugins.pit.artifacts import ArtifactStore
from symphony.builtin_plugins.pit.artifacts.db import ObjectRow

__all__ = ["run"]

SEED = 13
QUERIES = 500
SCANS = 20
BATCH = 10_000
TAGS = ("draft", "final", "review")


def _vocabulary() -> list[str]:
    words: set[str] = set()
    for source in Path(click.__file__).parent.glob("*.py"):
        words.update(re.findall(r"[a-z]{4,}", source.read_text(encoding="utf-8")))
    return sorted(words)


def _texts(count: int, vocabulary: list[str], rng: random.Random) -> list[str]:
    return [" ".join(rng.choices(vocabulary, k=rng.randint(20, 60))) for _ in range(count)]


def _fill(store: ArtifactStore, texts: list[str], rng: random.Random) -> None:
    """The texts as inline objects, as ``put`` records them, in a few large transactions."""
    rows = []
    for i, text in enumerate(texts):
        content = text.encode()
        artifact_id = "sha256:" + hashlib.sha256(content).hexdigest()
        rows.append(
            {
                "id": artifact_id,
                "size": len(content),
                "inline": store.sealer.seal(artifact_id, content),
                "chunk_ids": msgspec.msgpack.encode([]),
                "created_at": 1.7e9 + i,
                "metadata_": {"name": f"report-{i}", "type": "text/plain", "tags": [rng.choice(TAGS)]},
            }
        )
    for start in range(0, len(rows), BATCH):
        with store.db.session() as session:
            session.execute(insert(ObjectRow), rows[start : start + BATCH])


def run(quick: bool) -> list[Record]:
    count = 20_000 if quick else 100_000
    rng = random.Random(SEED)
    vocabulary = _vocabulary()
    texts = _texts(count, vocabulary, rng)
    queries = [" ".join(rng.sample(vocabulary, rng.choice((1, 2)))) for _ in range(200 if quick else QUERIES)]
    samples: list[float] = []
    ranked: list[float] = []  # the same queries without the port's ArtifactInfo per hit
    with tempfile.TemporaryDirectory() as folder:
        store = ArtifactStore(Path(folder) / "store")
        _fill(store, texts, rng)

        async def measure() -> None:
            assert await store.search(texts[0].split()[0], limit=10), "found nothing"  # the store indexes itself
            with no_gc():
                for query in queries:
                    start = time.perf_counter()
                    await store.search(query, limit=10)
                    samples.append(time.perf_counter() - start)
                for query in queries:
                    start = time.perf_counter()
                    store.finder.search(query, 10)
                    ranked.append(time.perf_counter() - start)

        asyncio.run(measure())
        store.close()
    lowered = [text.lower() for text in texts]
    scans = []
    for query in queries[:SCANS]:
        needle = query.lower()
        start = time.perf_counter()
        [i for i, text in enumerate(lowered) if needle in text][:10]
        scans.append(time.perf_counter() - start)
    scan = statistics.median(scans) * 1e3
    baseline = "substring scan of every document (the previous store's search)"
    return [
        record(
            f"artifact_search.median@{count}",
            statistics.median(samples) * 1e3,
            "ms",
            baseline,
            scan,
            seed_target="< 100 ms",
            goal="<= 1 ms",
        ),
        record(
            f"artifact_search.ranked_median@{count}",
            statistics.median(ranked) * 1e3,
            "ms",
            baseline,
            scan,
            goal="<= 1 ms",
        ),
        record(
            f"artifact_search.p99@{count}",
            percentile(samples, 0.99) * 1e3,
            "ms",
            baseline,
            scan,
            seed_target="< 100 ms",
            goal="<= 10 ms",
        ),
    ]
