"""``registry_sync``: full and incremental catalogue sync of 10,000 extensions from the real local index server.

A registry directory is created with R1's ``Repository`` and filled with
10,000 generated releases (``add_releases``, targets only, the manifests of
``registry_search``), then served by a real ``symphony registry serve`` on
loopback.  ``full`` is a first ``Index.refresh()`` into an empty data
directory: TUF refresh, all 64 bins fetched and verified, 10,000 rows indexed.
``incremental`` adds one release (one bin re-signed) and syncs again: the
timestamp, snapshot and that bin are fetched, one bin re-indexed.

Baseline, in the same run: the same metadata bytes fetched with plain httpx
(one client, keep-alive), neither verified nor indexed: every file of a full
sync, and the timestamp, snapshot and changed bin of an incremental one.
"""

from __future__ import annotations

import random
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.registry_search import EXTENSIONS, make_catalogue, make_release, vocabulary
from benchmarks.run import Record, record
from symphony.registry.client import open_index
from symphony.registry.client._config import save_index
from symphony.registry.server.repository import Repository

__all__ = ["run", "serve"]

SEED = 19
SYMPHONY = Path(sys.executable).parent / "symphony"


def serve(directory: Path) -> tuple[subprocess.Popen[str], str]:
    """``symphony registry serve DIRECTORY`` on a free loopback port: the process and its URL."""
    process = subprocess.Popen(
        [SYMPHONY, "registry", "serve", str(directory), "--port", "0", "--no-auth"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:  # not select.select: it refuses descriptors above 1023
        selector.register(process.stdout, selectors.EVENT_READ)
        ready = selector.select(120)
    line = process.stdout.readline() if ready else ""
    if not line.startswith("Serving http://"):
        process.kill()
        raise RuntimeError(f"symphony registry serve did not start: {line!r}")
    return process, line.split()[1]


def _plain_fetch(client: httpx.Client, url: str, files: list[str]) -> float:
    start = time.perf_counter()
    for name in files:
        client.get(f"{url}tuf/{name}").raise_for_status()
    return time.perf_counter() - start


def _metadata_files(client: httpx.Client, url: str) -> tuple[list[str], dict[str, int]]:
    """What a full sync fetches (timestamp, snapshot, targets, every bin) and each bin's version."""
    timestamp = client.get(f"{url}tuf/timestamp.json").json()["signed"]
    snapshot_version = timestamp["meta"]["snapshot.json"]["version"]
    meta = client.get(f"{url}tuf/{snapshot_version}.snapshot.json").json()["signed"]["meta"]
    files = ["timestamp.json", f"{snapshot_version}.snapshot.json"]
    files += [f"{info['version']}.{name}" for name, info in meta.items()]
    return files, {name.removesuffix(".json"): info["version"] for name, info in meta.items()}


def run(quick: bool) -> list[Record]:
    rng = random.Random(SEED)
    words = vocabulary()
    bins, _ = make_catalogue(rng, words)
    rounds = 2 if quick else 5
    full: list[float] = []
    incremental: list[float] = []
    plain_full: list[float] = []
    plain_incremental: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        repository = Repository.create(root / "index")
        repository.add_releases(
            (None, release.metadata, release.sha256, release.length) for group in bins.values() for release in group
        )
        process, url = serve(root / "index")
        try:
            with httpx.Client() as client:
                for n in range(rounds):
                    data_dir = root / f"user{n}"
                    save_index(data_dir, "default", url, (root / "index" / "root.json").read_bytes())
                    with open_index(data_dir) as index:
                        start = time.perf_counter()
                        report = index.refresh()
                        full.append(time.perf_counter() - start)
                        assert report.full and report.extensions == EXTENSIONS + n, report  # + one added per round
                        files, _ = _metadata_files(client, url)
                        plain_full.append(_plain_fetch(client, url, files))
                        added = make_release(EXTENSIONS + n, "1.0.0", rng.sample(words, 6), words, rng)
                        repository.add_releases([(None, added.metadata, added.sha256, added.length)])
                        start = time.perf_counter()
                        report = index.refresh()
                        incremental.append(time.perf_counter() - start)
                        assert not report.full and report.bins_fetched == 1, report
                        files, versions = _metadata_files(client, url)
                        changed = repository.bin_for(added.target_path)
                        plain_incremental.append(
                            _plain_fetch(client, url, [*files[:2], f"{versions[changed]}.{changed}.json"])
                        )
        finally:
            process.terminate()
            process.wait(timeout=30)
    base_full = "plain httpx GET of the same metadata files (no verification, no indexing)"
    return [
        record(
            f"registry_sync.full@{EXTENSIONS}",
            statistics.median(full) * 1e3,
            "ms",
            base_full,
            statistics.median(plain_full) * 1e3,
            seed_target="a registry of 10,000+ extensions",
        ),
        record(
            f"registry_sync.incremental@{EXTENSIONS}",
            statistics.median(incremental) * 1e3,
            "ms",
            "plain httpx GET of timestamp, snapshot and the changed bin",
            statistics.median(plain_incremental) * 1e3,
            seed_target="a registry of 10,000+ extensions",
            goal="only what changed since the last sync",
        ),
    ]
