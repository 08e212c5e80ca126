"""Helpers: the spans a real ``symphony`` command produced, as a tree to assert on.

:data:`IN_MEMORY` is a script for ``Symphony.python``: it sets up the application's
tracer provider with the SDK's InMemorySpanExporter, as an application embedding
Symphony would, runs the real CLI in that process and writes every finished span
as JSON to the file named by its first argument.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IN_MEMORY = """
import json, sys
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

memory = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(memory))
trace.set_tracer_provider(provider)

from symphony.host.cli import main

try:
    main(sys.argv[2:])
except SystemExit:
    pass
with open(sys.argv[1], "w") as out:
    json.dump([json.loads(span.to_json()) for span in memory.get_finished_spans()], out)
"""


@dataclass
class Span:
    name: str
    kind: str
    status: str
    attributes: dict[str, Any]
    children: list[Span] = field(default_factory=list)

    def child(self, name: str) -> Span:
        found = [span for span in self.children if span.name == name]
        assert len(found) == 1, f"{self.name!r} has no single child {name!r}: {[s.name for s in self.children]}"
        return found[0]


def tree(spans: Iterable[dict[str, Any]]) -> list[Span]:
    """The root spans (no parent), each with its children, from the SDK's JSON form of each span."""
    made: dict[str, Span] = {}
    parents: dict[str, str | None] = {}
    for raw in spans:
        span_id = raw["context"]["span_id"]
        made[span_id] = Span(
            name=raw["name"],
            kind=raw["kind"].removeprefix("SpanKind."),
            status=raw["status"]["status_code"],
            attributes=raw["attributes"],
        )
        parents[span_id] = raw["parent_id"]
    roots = []
    for span_id, span in made.items():
        parent = parents[span_id]
        if parent is None or parent not in made:
            roots.append(span)
        else:
            made[parent].children.append(span)
    return roots


def read(path: Path) -> list[Span]:
    return tree(json.loads(path.read_text()))


def console_spans(stderr: str) -> list[Span]:
    """The spans the console exporter wrote to stderr, one JSON object per line."""
    return tree(json.loads(line) for line in stderr.splitlines() if line.startswith("{"))
