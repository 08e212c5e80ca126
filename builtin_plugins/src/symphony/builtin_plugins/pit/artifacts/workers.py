"""Thread pools for work beside a put or get (hashing, writing packs) that stay usable in a forked child.

A ``ThreadPoolExecutor`` copied into a child by ``fork`` still counts its parent's threads, which do not
exist there, so a task submitted in the child would wait forever.  Each pool here is started again in the
child instead.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

__all__ = ["Workers"]

_P = ParamSpec("_P")
_T = TypeVar("_T")
_POOLS: weakref.WeakSet[Workers] = weakref.WeakSet()


class Workers:
    """A named pool of up to ``size`` threads, started when first used and again after a fork."""

    def __init__(self, name: str, size: int) -> None:
        self._name, self._size = name, size
        self._executor: ThreadPoolExecutor | None = None
        _POOLS.add(self)

    def submit(self, task: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self._size, thread_name_prefix=self._name)
        return self._executor.submit(task, *args, **kwargs)

    def _forget(self) -> None:
        self._executor = None


def _after_fork_in_child() -> None:
    for pool in list(_POOLS):
        pool._forget()


os.register_at_fork(after_in_child=_after_fork_in_child)
