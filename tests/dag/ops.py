"""Operators for the DAG tracker's tests; also a plugin (``symphony_operators``) for subprocess runs.

Each one leaves a trace in a log file so that tests can see what ran, when, and how often:
``config.log`` is the file, ``config.name`` the label written.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from symphony.hookspecs import OperatorSpec, PortSpec, ValidationError, hookimpl

SYMPHONY_API = "^1.0"
BLOCKING_PATIENCE = 10.0


def _log(config: Mapping[str, Any], what: str) -> None:
    if "log" in config:
        with open(config["log"], "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"name": config.get("name", ""), "what": what, "t": time.monotonic()}) + "\n")


def record(config: Mapping[str, Any]) -> Any:
    """Log start and end, sleep ``config.sleep`` seconds, output ``[name, input value]``.

    With ``config.wait_for``, first wait until that file exists; with ``config.done``,
    create that file once the end is logged.
    """

    async def run(inputs: Mapping[str, Any]) -> dict[str, Any]:
        _log(config, "start")
        if "wait_for" in config:
            while not Path(config["wait_for"]).exists():
                await asyncio.sleep(0.01)
        await asyncio.sleep(float(config.get("sleep", 0)))
        _log(config, "end")
        if "done" in config:
            Path(config["done"]).touch()
        return {"value": [config.get("name", ""), inputs.get("value")]}

    return run


def flaky(config: Mapping[str, Any]) -> Any:
    """Fail the first ``config.failures`` calls (counted in ``config.counter``), then succeed."""
    counter = Path(config["counter"])

    async def run(inputs: Mapping[str, Any]) -> dict[str, Any]:
        calls = int(counter.read_text()) if counter.exists() else 0
        counter.write_text(str(calls + 1))
        _log(config, "start")
        if calls < int(config.get("failures", 0)):
            if config.get("error") == "value":
                raise ValueError(f"bad value on call {calls + 1}")
            raise ConnectionError(f"connection refused on call {calls + 1}")
        return {"value": inputs.get("value", calls + 1)}

    return run


class Blocking:
    """A synchronous (CPU-bound) operator: reports the thread it ran in; logs like ``record``.

    With ``config.wait_for`` it holds its thread until that file exists, for at
    most ``BLOCKING_PATIENCE`` seconds: on the event loop's thread it would wait
    in vain, since nothing else can run there meanwhile.
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.seconds = float(config.get("sleep", 0))

    def __call__(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        _log(self.config, "start")
        if "wait_for" in self.config:
            deadline = time.monotonic() + BLOCKING_PATIENCE
            while not Path(self.config["wait_for"]).exists() and time.monotonic() < deadline:
                time.sleep(0.01)
        time.sleep(self.seconds)
        _log(self.config, "end")
        return {"value": threading.current_thread().name}


def positive(config: Mapping[str, Any]) -> Any:
    """Pass ``value`` on if it is a positive number; reject anything else as bad input (``data.validation``)."""

    async def run(inputs: Mapping[str, Any]) -> dict[str, Any]:
        _log(config, "start")
        value = inputs.get("value")
        if not isinstance(value, int | float) or value <= 0:
            raise ValidationError(f"{value!r} is not a positive number")
        return {"value": value}

    return run


def _any(required: bool = False) -> dict[str, PortSpec]:
    return {"value": PortSpec(type="any", required=required)}


OPERATORS = [
    OperatorSpec(name="test-record", factory=record, inputs=_any(), outputs=_any(True)),
    OperatorSpec(name="test-flaky", factory=flaky, inputs=_any(), outputs=_any(True)),
    OperatorSpec(name="test-positive", factory=positive, inputs=_any(), outputs=_any(True)),
    OperatorSpec(name="test-blocking", factory=Blocking, inputs=_any(), outputs=_any(True), cpu_bound=True),
]


@hookimpl
def symphony_operators(context: Any) -> list[OperatorSpec]:
    return list(OPERATORS)
