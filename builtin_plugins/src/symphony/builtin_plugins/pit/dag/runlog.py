"""A run's log file: its events, one line each, appended as they happen (``tail -f`` follows a run).

A line is ``TIME TOPIC NODE DETAILS``: an ISO 8601 UTC time, the event topic, the
node (``-`` for the run's own events), then the event's other fields as
``key=JSON``.  ``symphony runs logs RUN [NODE]`` prints them, filtered by node.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from symphony.hookspecs import Event

__all__ = ["RunLog", "read_log"]

_OWN = ("run_id", "node")  # in every line's fixed columns, or the file's name


class RunLog:
    """Appends one run's events to its log file, flushed line by line so a crash loses none written."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO = path.open("a", encoding="utf-8")

    def __call__(self, event: Event) -> None:
        when = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
        node = event.data.get("node") or "-"
        details = " ".join(
            f"{key}={json.dumps(value, ensure_ascii=False, default=str)}"
            for key, value in event.data.items()
            if key not in _OWN
        )
        self._file.write(f"{when} {event.topic} {node} {details}".rstrip() + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def read_log(path: Path, node: str | None = None) -> Iterator[str]:
    """The lines of a run's log, or only those of ``node``."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            text = line.rstrip("\n")
            if node is None or text.split(" ", 3)[2:3] == [node]:
                yield text
