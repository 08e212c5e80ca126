"""What extensions did across host processes: counters for ``ext ps`` and crash-loop disables.

Each host process adds its own counts when its extension runtime closes (and
after every failure), so ``symphony ext ps`` in another process sees the
totals, and an extension disabled in a crash loop stays disabled until
``symphony ext enable``.  One small JSON file in the data directory, replaced
atomically; two hosts closing at the same instant may lose one's increment
(counters are statistics, not accounts), never the file.  Like grants, a record
belongs to the distribution that provided the name (``symphony.host.permissions``
identities): another distribution taking the name after ``pip uninstall``
starts afresh, neither counted nor disabled by its predecessor.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from symphony.hookspecs import atomic_write

from ..permissions import IdentityLookup, installed_identity, no_identity
from ._manager import ExtensionStats

if TYPE_CHECKING:
    from .._settings import Settings

__all__ = ["ExtensionRecord", "StateFile"]


class ExtensionRecord(msgspec.Struct, kw_only=True):
    """Totals of one extension over every host process."""

    name: str
    runtime: str
    invocations: int = 0
    failures: int = 0
    denials: int = 0
    restarts: int = 0
    failures_in_row: int = 0
    disabled: str | None = None
    last_error: str | None = None
    peak_memory_bytes: int | None = None
    cpu_seconds: float = 0.0
    updated: float = 0.0
    #: The distribution counted; None for an extension that is not an installed distribution.
    identity: str | None = None


class StateFile:
    """``<data_dir>/extensions-state.json``."""

    def __init__(self, data_dir: Path, identify: IdentityLookup = no_identity) -> None:
        self.path = data_dir / "extensions-state.json"
        self._identify = identify

    @classmethod
    def of(cls, settings: Settings) -> StateFile:
        """The host's file, its records counting for the distribution that provides each name now."""
        return cls(settings.data_dir, installed_identity(settings.cache_dir, use_cache=settings.plugins.index_cache))

    def read(self) -> dict[str, ExtensionRecord]:
        """The records of the distributions that provide their names now."""
        try:
            records = msgspec.json.decode(self.path.read_bytes(), type=dict[str, ExtensionRecord])
        except FileNotFoundError:
            return {}
        except (OSError, msgspec.DecodeError):
            return {}  # statistics only: a damaged file starts over rather than blocking extensions
        return {name: record for name, record in records.items() if record.identity == self._identify(name)}

    def _write(self, records: dict[str, ExtensionRecord]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, msgspec.json.encode(records))

    def add(self, rows: list[ExtensionStats], previous: dict[str, ExtensionStats]) -> None:
        """Add what changed since ``previous`` (this process's last report) to the totals."""
        records = self.read()
        for row in rows:
            before = previous.get(row.name)
            record = records.setdefault(
                row.name, ExtensionRecord(name=row.name, runtime=row.runtime, identity=self._identify(row.name))
            )
            record.invocations += row.invocations - (before.invocations if before else 0)
            record.failures += row.failures - (before.failures if before else 0)
            record.denials += row.denials - (before.denials if before else 0)
            record.restarts += row.restarts - (before.restarts if before else 0)
            if before is None or row.invocations != before.invocations or row.failures != before.failures:
                record.failures_in_row = row.failures_in_row  # this process saw the latest calls
            record.cpu_seconds += (row.cpu_seconds or 0.0) - ((before.cpu_seconds or 0.0) if before else 0.0)
            if row.memory_bytes:
                record.peak_memory_bytes = max(record.peak_memory_bytes or 0, row.memory_bytes)
            record.last_error = row.last_error or record.last_error
            record.disabled = row.last_error if row.state == "disabled" else record.disabled
            record.updated = time.time()
        self._write(records)

    def enable(self, name: str) -> bool:
        """Clear a crash-loop disable; False if ``name`` was not disabled."""
        records = self.read()
        record = records.get(name)
        if record is None or record.disabled is None:
            return False
        record.disabled = None
        record.failures_in_row = 0
        self._write(records)
        return True
