"""``artifact_dedup``: what content-defined chunking saves on successive versions of real source files.

The six largest modules of the installed ``click`` package (about 320 KB of
Python) are stored 200 times (quick: 50), each version of the six one to three
random line edits (replace, insert, delete, in any of the files; ``random.Random``
with a fixed seed, so every run stores the same corpus) away from the one before,
as a project's successive commits or a workflow's successive outputs would be.

Record: ``artifact_dedup.versions@N``, the bytes the store keeps (``stats().stored_bytes``:
packs and inline objects; index.db's rows, about a hundred bytes a chunk, are not
counted) against the bytes of every version as a plain file; ``ratio`` is
stored / plain, so savings are 1 - ratio.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
from pathlib import Path

import click

from benchmarks.artifact_stores import open_store
from benchmarks.run import Record, record

__all__ = ["corpus", "run"]

SEED = 13
FILES = 6


def _edit(lines: list[str], rng: random.Random) -> None:
    """One random line edit in place."""
    at = rng.randrange(len(lines))
    kind = rng.choice(("replace", "insert", "delete"))
    if kind == "delete" and len(lines) > 1:
        del lines[at]
    elif kind == "insert":
        lines.insert(at, f"    value_{rng.randrange(10**6)} = {rng.random()!r}\n")
    else:
        lines[at] = lines[at].rstrip("\n") + f"  # edited {rng.randrange(10**6)}\n"


def corpus(versions: int) -> list[bytes]:
    """``versions`` successive versions of the largest click modules, every file of each, in storing order."""
    sources = sorted(Path(click.__file__).parent.glob("*.py"), key=lambda p: (-p.stat().st_size, p.name))[:FILES]
    files = [p.read_text(encoding="utf-8").splitlines(keepends=True) for p in sources]
    rng = random.Random(SEED)
    out: list[bytes] = []
    for _ in range(versions):
        for _ in range(rng.randint(1, 3)):
            _edit(rng.choice(files), rng)
        out.extend("".join(lines).encode() for lines in files)
    return out


def run(quick: bool) -> list[Record]:
    versions = 50 if quick else 200
    documents = corpus(versions)
    logical = sum(len(d) for d in documents)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "store"
        store = open_store(root)

        async def put_all() -> None:
            for document in documents:
                await store.store(document)

        asyncio.run(put_all())
        stored = store.stats().stored_bytes
        store.close()
    return [
        record(
            f"artifact_dedup.versions@{versions}",
            stored / 2**20,
            "MiB",
            f"the {versions} versions of {FILES} files as plain files",
            logical / 2**20,
            seed_target="savings >= 30% (ratio <= 0.70)",
            goal="savings >= 80% (ratio <= 0.20)",
        )
    ]
