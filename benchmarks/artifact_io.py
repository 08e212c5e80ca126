"""``artifact_io``: storing and retrieving one artifact, against a plain file hashed with hashlib.

Sizes 1 KiB, 1 MiB and 64 MiB of fresh random bytes each repetition (so
deduplication never turns a store into a lookup), through the store's port
(``store`` and ``retrieve``: chunked, packed, fsynced, and verified per chunk and
whole on read).  The baseline does the least that gives the same guarantees for
a single file: SHA-256 the bytes, write them to a new file and fsync it (store);
read the file back and SHA-256 it (retrieve).

Records: ``artifact_io.<store|retrieve>.<plain|encrypted>@<size>`` in ms, the median of the
repetitions; the encrypted figures (AES-256-GCM under a random key) have the unencrypted
store's as their baseline, so their ratio is what encryption adds.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks._measure import no_gc
from benchmarks.artifact_stores import open_store
from benchmarks.run import Record, record

__all__ = ["run"]

KIB = 1024
MIB = 1024 * KIB


def _goal(operation: str, size: int) -> str | None:
    if size >= 64 * MIB:
        return "<= 1.5x the plain-file baseline"
    if size == MIB:
        return "<= 2 ms" if operation == "store" else "<= 1 ms (verified)"
    return None


def _timed(action: Callable[[], object]) -> float:
    with no_gc():
        start = time.perf_counter()
        action()
        return time.perf_counter() - start


def _plain_file(folder: Path, payloads: list[bytes]) -> tuple[float, float]:
    """Median seconds to hash-and-durably-write, then read-and-hash, each payload as a file."""
    writes, reads = [], []
    for i, data in enumerate(payloads):
        path = folder / f"plain{i}"

        def write(path: Path = path, data: bytes = data) -> None:
            hashlib.sha256(data).hexdigest()
            with open(path, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())

        def read(path: Path = path) -> None:
            hashlib.sha256(path.read_bytes()).hexdigest()

        writes.append(_timed(write))
        reads.append(_timed(read))
        path.unlink()
    return statistics.median(writes), statistics.median(reads)


def _through_store(folder: Path, payloads: list[bytes], *, encrypted: bool) -> tuple[float, float]:
    """Median seconds to store, then retrieve (verified), each payload through the store, in one event loop."""
    store = open_store(folder, encrypted=encrypted)
    stores, retrieves = [], []

    async def measure() -> None:
        for data in payloads:
            with no_gc():
                start = time.perf_counter()
                artifact_id = await store.store(data)
                stored = time.perf_counter()
                got = await store.retrieve(artifact_id)
                retrieved = time.perf_counter()
            assert got == data, "the store returned other bytes"
            stores.append(stored - start)
            retrieves.append(retrieved - stored)

    asyncio.run(measure())
    store.close()
    return statistics.median(stores), statistics.median(retrieves)


def run(quick: bool) -> list[Record]:
    sizes = [(KIB, 30 if quick else 200), (MIB, 8 if quick else 50), (64 * MIB, 1 if quick else 5)]
    records = []
    for size, repeat in sizes:
        tag = f"{size // MIB}MiB" if size >= MIB else f"{size // KIB}KiB"
        payloads = [os.urandom(size) for _ in range(repeat)]
        with tempfile.TemporaryDirectory() as folder:
            base_write, base_read = _plain_file(Path(folder), payloads)
            plain = _through_store(Path(folder) / "plain", payloads, encrypted=False)
            sealed = _through_store(Path(folder) / "encrypted", payloads, encrypted=True)
        for index, (operation, what, seed) in enumerate(
            (
                ("store", "sha256 + write + fsync of a plain file", "store < 5 ms"),
                ("retrieve", "read + sha256 of a plain file", "retrieve < 2 ms"),
            )
        ):
            base = (base_write, base_read)[index]
            records += [
                record(
                    f"artifact_io.{operation}.plain@{tag}",
                    plain[index] * 1e3,
                    "ms",
                    what,
                    base * 1e3,
                    seed_target=seed if size <= MIB else None,
                    goal=_goal(operation, size),
                ),
                record(
                    f"artifact_io.{operation}.encrypted@{tag}",
                    sealed[index] * 1e3,
                    "ms",
                    f"the same {operation} through the unencrypted store",
                    plain[index] * 1e3,
                    seed_target=seed if size <= MIB else None,
                    goal="<= 1.3x (encryption adds <= 30%)",
                ),
            ]
    return records
