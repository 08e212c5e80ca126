"""A third party's ``symphony_invoke`` wrapper: one JSON line per invocation in ``DATA_DIR/invoke-observer.log``.

Each line is written when the invocation ends, with what the wrapper saw of it
and whether it returned or raised.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

from symphony.hookspecs import Invocation, hookimpl
from symphony.hookspecs.ports import HostContext

SYMPHONY_API = "^1.0"

_log: list[Path] = []


@hookimpl
def symphony_configure(context: HostContext) -> None:
    context.data_dir.mkdir(parents=True, exist_ok=True)
    _log.append(context.data_dir / "invoke-observer.log")


@hookimpl(wrapper=True)
def symphony_invoke(invocation: Invocation) -> Generator[None, Any, Any]:
    outcome = "raised"
    try:
        result = yield
        outcome = "returned"
        return result
    finally:
        seen = {
            "kind": invocation.kind,
            "target": invocation.target,
            "plugin": invocation.plugin,
            "extension": invocation.extension,
            "runtime": invocation.runtime,
            "node_id": invocation.node_id,
            "run_id": invocation.run_id,
            "parent": invocation.parent.target if invocation.parent else None,
            "outcome": outcome,
        }
        with _log[-1].open("a") as log:
            log.write(json.dumps(seen) + "\n")
