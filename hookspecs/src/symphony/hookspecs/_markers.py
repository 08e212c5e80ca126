"""The markers plugins use, and the async-hook option the host reads.

pluggy's spec options cannot carry new keys, so whether a hook may be
awaited (and how its implementations run) is recorded on the spec function
itself by :func:`async_hook`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Literal, TypeVar

import pluggy

__all__ = ["PROJECT_NAME", "AsyncMode", "async_hook", "async_mode", "hookimpl", "hookspec"]

#: The pluggy project name; hook names all start with ``symphony_``.
PROJECT_NAME: Final = "symphony"

hookspec: Final = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl: Final = pluggy.HookimplMarker(PROJECT_NAME)

AsyncMode = Literal["concurrent", "sequential"]
_ATTRIBUTE: Final = "symphony_async_mode"

F = TypeVar("F", bound=Callable[..., object])


def async_hook(mode: AsyncMode) -> Callable[[F], F]:
    """Mark a hookspec as awaitable through ``Host.acall``.

    ``concurrent``: every implementation's coroutine runs at once (for
    broadcasts such as startup).  ``sequential``: implementations are awaited
    one after another in pluggy's call order, which ``firstresult`` hooks need.
    """
    if mode not in ("concurrent", "sequential"):
        raise ValueError(f"async_hook mode must be 'concurrent' or 'sequential', got {mode!r}")

    def mark(function: F) -> F:
        setattr(function, _ATTRIBUTE, mode)
        return function

    return mark


def async_mode(function: Callable[..., object]) -> AsyncMode | None:
    """The async mode a hookspec function was marked with, or None for sync hooks."""
    mode: AsyncMode | None = getattr(function, _ATTRIBUTE, None)
    return mode
