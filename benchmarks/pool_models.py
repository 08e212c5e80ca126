"""Fake-cost models for the pool's tests and benchmarks: a load that takes time and memory, like a real one.

``load(config)`` sleeps ``load_seconds``, holds ``megabytes`` of touched
memory (so it is resident, as weights are), and returns a model offering
``echo``, ``sleep`` and ``crash``.  ``fail`` makes the load raise, ``exit``
makes the worker exit during the load, ``hang`` makes it never finish, ``print`` prints
to standard output as careless model code does.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

__all__ = ["FakeModel", "load"]


class FakeModel:
    """What a loaded fake model answers; each method takes one payload, as the pool calls it."""

    def __init__(self, config: dict[str, Any], weights: bytearray) -> None:
        self.config = config
        self.weights = weights

    def echo(self, payload: Any) -> Any:
        return payload

    def sleep(self, seconds: float) -> float:
        time.sleep(seconds)
        return seconds

    def pid(self, _payload: Any) -> int:
        return os.getpid()

    def crash(self, _payload: Any) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


def load(config: dict[str, Any]) -> FakeModel:
    if config.get("fail"):
        raise RuntimeError(str(config["fail"]))
    if config.get("exit") is not None:
        os._exit(int(config["exit"]))
    if config.get("hang"):
        while True:
            time.sleep(1)
    if config.get("print"):
        print(config["print"])  # stray output of model code: must not reach the pool's frames
    time.sleep(float(config.get("load_seconds", 0.0)))
    size = int(float(config.get("megabytes", 0)) * 1024 * 1024)
    weights = bytearray(size)
    for offset in range(0, size, 4096):  # touch every page: resident, like loaded weights
        weights[offset] = 1
    return FakeModel(config, weights)
