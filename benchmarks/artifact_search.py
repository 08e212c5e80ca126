"""``artifact_search``: one full-text query over many indexed text artifacts.

100,000 short text artifacts (quick: 20,000), each 20 to 60 words drawn with a
fixed seed from the identifiers of the installed ``click`` sources, with a
name, a type and a tag, are written to the store's Tantivy index
(``search.SearchIndex``, what ``ArtifactStore.search`` asks).  Each query is one
or two words of that vocabulary, top 10, ranked by relevance times quality,
without a total count.

Records: ``artifact_search.<median|p99>@N`` in ms, against the previous store's
search in the same run: a case-insensitive substring scan of every document.
"""

from __future__ import annotations

import random
import re
import statistics
import tempfile
import time
from pathlib import Path

import click

from benchmarks._measure import no_gc, percentile
from benchmarks.run import Record, record
from symphony.builtin_plugins.pit.artifacts.search import Document, SearchIndex

__all__ = ["run"]

SEED = 13
QUERIES = 500
SCANS = 20


def _vocabulary() -> list[str]:
    words: set[str] = set()
    for source in Path(click.__file__).parent.glob("*.py"):
        words.update(re.findall(r"[a-z]{4,}", source.read_text(encoding="utf-8")))
    return sorted(words)


def _documents(count: int, vocabulary: list[str], rng: random.Random) -> list[Document]:
    return [
        Document(
            artifact_id=f"sha256:{i:064x}",
            created_at=1.7e9 + i,
            name=f"report-{i}",
            type="text/plain",
            tags=(rng.choice(("draft", "final", "review")),),
            text=" ".join(rng.choices(vocabulary, k=rng.randint(20, 60))),
        )
        for i in range(count)
    ]


def run(quick: bool) -> list[Record]:
    count = 20_000 if quick else 100_000
    rng = random.Random(SEED)
    vocabulary = _vocabulary()
    documents = _documents(count, vocabulary, rng)
    queries = [" ".join(rng.sample(vocabulary, rng.choice((1, 2)))) for _ in range(QUERIES)]
    texts = [f"{d.name} {d.text}".lower() for d in documents]
    with tempfile.TemporaryDirectory() as folder:
        index = SearchIndex(Path(folder) / "search")
        index.add(documents)
        samples = []
        with no_gc():
            for query in queries:
                start = time.perf_counter()
                index.search(query, limit=10)
                samples.append(time.perf_counter() - start)
    scans = []
    for query in queries[:SCANS]:
        needle = query.lower()
        start = time.perf_counter()
        [i for i, text in enumerate(texts) if needle in text][:10]
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
            f"artifact_search.p99@{count}",
            percentile(samples, 0.99) * 1e3,
            "ms",
            baseline,
            scan,
            seed_target="< 100 ms",
            goal="<= 10 ms",
        ),
    ]
