"""``registry_search``: ``symphony ext search`` queries over a catalogue of 10,000 extensions.

10,000 extensions (one release each, a few with two: 10,500 releases) with
names, descriptions and contributed operators/instruments drawn with a fixed
seed from the identifiers of the installed ``click`` sources, and one to three
declared capabilities each, are written into a real catalogue
(``Catalogue.apply``, one transaction as a sync does; the index server is not
involved: ``registry_sync`` times that).  Queries: one or two words of that
vocabulary, plus a third of them with ``--contributes operator --capability
network``, top 20, through ``Catalogue.search`` (what ``Index.search`` and
the command call: FTS5, bm25 ranking, decoded hits).  ``resolve`` is
``Index.resolve`` of a random extension (releases, versions, compatibility).

Records: ``registry_search.<p50|p99>@10000`` and ``registry_search.resolve_p50@10000``
in ms.  Baseline, in the same run: the same queries as plain ``LIKE '%word%'``
conditions over the same rows' text in SQLite, without FTS (what a catalogue
without a full-text index would do), top 20; for resolve, the SELECT of the same
release rows through sqlite3 alone.
"""

from __future__ import annotations

import contextlib
import random
import re
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from benchmarks._measure import no_gc, percentile
from benchmarks.run import Record, record
from symphony.hookspecs import RegistryError
from symphony.registry.client import Index, IndexConfig
from symphony.registry.client._catalogue import VerifiedRelease
from symphony.registry.records import ReleaseMetadata

__all__ = ["EXTENSIONS", "make_catalogue", "make_release", "run", "vocabulary"]

SEED = 17
EXTENSIONS = 10_000
CAPABILITIES = (
    ("network_access", "api.{}.example.com"),
    ("file_access", "read:~/{}/**"),
    ("model_access", "{}-large"),
)


def vocabulary() -> list[str]:
    words: set[str] = set()
    for source in Path(click.__file__).parent.glob("*.py"):
        words.update(re.findall(r"[a-z]{4,}", source.read_text(encoding="utf-8")))
    return sorted(words)


def make_release(i: int, version: str, words: list[str], pool: list[str], rng: random.Random) -> VerifiedRelease:
    """Release ``version`` of extension ``i`` named after ``words`` (6), its texts drawn from ``pool``."""
    name = f"{words[0]}-{words[1]}-{i}"
    kind = rng.choice(("instruments", "operators"))
    capabilities: dict[str, list[str]] = {}
    for key, form in rng.sample(CAPABILITIES, rng.randint(1, 3)):
        capabilities[key] = [form.format(rng.choice(pool))]
    manifest: dict[str, Any] = {
        "schema_version": 1,
        "extension": {
            "name": name,
            "version": version,
            "type": kind[:-1],
            "author": "Benchmark",
            "publisher": f"{words[2].title()} Labs",
            "description": " ".join(rng.sample(pool, 12)),
        },
        "runtime": {"kind": "subprocess", "entry": "m.handler:handle"},
        "capabilities": capabilities,
        "dependencies": {"symphony": rng.choice(("^1.0", "^1.0", "^1.0", "^2.0"))},
        "contributes": {
            kind: [
                {
                    "name": words[3],
                    "description": " ".join(rng.sample(pool, 5)),
                    "inputs": {words[4]: {"type": "any"}},
                }
            ]
        },
    }
    filename = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    metadata = ReleaseMetadata(
        distribution=name, version=version, filename=filename, uploaded_at=1.7e9, extension=name, manifest=manifest
    )
    return VerifiedRelease(f"packages/{filename}", "0" * 64, 10_000, metadata)


def make_catalogue(rng: random.Random, pool: list[str]) -> tuple[dict[str, list[VerifiedRelease]], list[str]]:
    """The generated releases by bin, and the extension names."""
    bins: dict[str, list[VerifiedRelease]] = {f"bins-{n:02x}": [] for n in range(64)}
    names = []
    for i in range(EXTENSIONS):
        words = rng.sample(pool, 6)
        versions = ["1.0.0", "1.1.0"] if i % 20 == 0 else ["1.0.0"]
        for version in versions:
            bins[f"bins-{rng.randrange(64):02x}"].append(make_release(i, version, words, pool, rng))
        names.append(f"{words[0]}-{words[1]}-{i}")
    return bins, names


def _plain(bins: dict[str, list[VerifiedRelease]]) -> sqlite3.Connection:
    """The same rows' searchable text in a table without FTS: the baseline's catalogue."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE plain (name TEXT, text TEXT, operators INTEGER, capabilities TEXT)")
    rows = []
    for releases in bins.values():
        for release in releases:
            manifest = release.metadata.manifest or {}
            info = manifest["extension"]
            nodes = [*manifest["contributes"].get("operators", ()), *manifest["contributes"].get("instruments", ())]
            caps = " ".join(f"{k}:{v}" for k, values in manifest["capabilities"].items() for v in values)
            text = " ".join([info["name"], info["description"], info["publisher"], str(nodes), caps])
            rows.append((info["name"], text, int("operators" in manifest["contributes"]), caps))
    db.executemany("INSERT INTO plain VALUES (?, ?, ?, ?)", rows)
    return db


def run(quick: bool) -> list[Record]:
    rng = random.Random(SEED)
    pool = vocabulary()
    bins, names = make_catalogue(rng, pool)
    queries = []
    for n in range(100 if quick else 1000):
        words = " ".join(rng.sample(pool, rng.choice((1, 2))))
        queries.append((words, n % 3 == 0))
    samples: list[float] = []
    resolves: list[float] = []
    selects: list[float] = []  # the rows resolve reads, through sqlite3 alone
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        index = Index(data_dir, "bench", IndexConfig(url="http://127.0.0.1:1/"))
        index.directory.mkdir(parents=True)
        catalogue = index.catalogue
        catalogue.apply(bins=dict.fromkeys(bins, 1), changed=bins, publishers=None, snapshot_version=1)
        assert catalogue.state().extensions == EXTENSIONS
        assert catalogue.search(names[0]), "found nothing"
        with no_gc():
            for words, filtered in queries:
                start = time.perf_counter()
                if filtered:
                    catalogue.search(words, contributes="operator", capabilities=("network",))
                else:
                    catalogue.search(words)
                samples.append(time.perf_counter() - start)
            resolved = rng.sample(names, len(queries))
            for name in resolved:
                start = time.perf_counter()
                with contextlib.suppress(RegistryError):  # one needing API ^2.0 resolves to an error: still timed
                    index.resolve(name)
                resolves.append(time.perf_counter() - start)
            raw = sqlite3.connect(catalogue.path)
            for name in resolved:
                start = time.perf_counter()
                raw.execute("SELECT release FROM releases WHERE extension = ?", (name,)).fetchall()
                selects.append(time.perf_counter() - start)
            raw.close()
        index.close()
    plain = _plain(bins)
    scans = []
    for words, filtered in queries[:50]:
        conditions = " AND ".join("text LIKE ?" for _ in words.split())
        params: list[Any] = [f"%{word}%" for word in words.split()]
        if filtered:
            conditions += " AND operators = 1 AND capabilities LIKE ?"
            params.append("%network_access%")
        start = time.perf_counter()
        plain.execute(f"SELECT name, text FROM plain WHERE {conditions} LIMIT 20", params).fetchall()
        scans.append(time.perf_counter() - start)
    scan = statistics.median(scans) * 1e3
    baseline = "LIKE '%word%' over the same rows' text in SQLite, no FTS"
    return [
        record(
            f"registry_search.p50@{EXTENSIONS}",
            statistics.median(samples) * 1e3,
            "ms",
            baseline,
            scan,
            seed_target="a registry of 10,000+ extensions",
            goal="<= 5 ms",
        ),
        record(f"registry_search.p99@{EXTENSIONS}", percentile(samples, 0.99) * 1e3, "ms", baseline, scan),
        record(
            f"registry_search.resolve_p50@{EXTENSIONS}",
            statistics.median(resolves) * 1e3,
            "ms",
            "SELECT of the same release rows through sqlite3 (no decoding, ordering or checks)",
            statistics.median(selects) * 1e3,
        ),
    ]
