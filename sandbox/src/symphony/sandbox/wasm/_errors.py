"""The errors the wasm runtime raises, all under :class:`~symphony.hookspecs.ExtensionError`.

::

    ExtensionError
    └── WasmExtensionError            .extension names the culprit
        ├── WasmLoadError             not wasm, wrong exports, unknown imports, cache unusable
        ├── WasmTrapError             .reason: fuel | deadline | memory | guest | trap
        └── WasmGuestError            the guest returned its own error result

A trap discards the instance (the next call gets a fresh one); a guest error does not,
because the guest chose to return it and its state is intact.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from symphony.hookspecs import ExtensionError
from symphony.hookspecs.runtimes import ExtensionCrashedError

__all__ = ["TrapReason", "WasmExtensionError", "WasmGuestError", "WasmLoadError", "WasmTrapError"]

TrapReason: TypeAlias = Literal["fuel", "deadline", "memory", "guest", "trap"]


class WasmExtensionError(ExtensionError):
    """A wasm extension failed to load or run; ``extension`` is its name."""

    category = "extension.wasm"

    def __init__(self, message: str, *, extension: str) -> None:
        super().__init__(message)
        self.extension = extension


class WasmLoadError(WasmExtensionError):
    """The bytes are not a usable component or core module for the Symphony contract."""

    category = "extension.wasm.load"


class WasmTrapError(WasmExtensionError, ExtensionCrashedError):
    """The guest was stopped: it ran out of fuel or time, hit its memory limit, or crashed.

    ``reason`` says which; ``guest_output`` is the tail of what it wrote to stderr, where
    a Python guest's traceback ends up.
    """

    category = "extension.wasm.trap"

    def __init__(self, message: str, *, extension: str, reason: TrapReason, guest_output: str = "") -> None:
        super().__init__(message, extension=extension)
        self.reason: TrapReason = reason
        self.guest_output = guest_output


class WasmGuestError(WasmExtensionError):
    """The guest returned ``err(message)`` from ``invoke``; the instance stays usable."""

    category = "extension.wasm.guest"


class ContractError(Exception):
    """Internal: a guest does not export what the Symphony contract needs (becomes WasmLoadError)."""


class GuestFault(Exception):
    """Internal: a core module broke the memory ABI (a result or argument outside its memory).

    Handled like a trap: the instance is discarded.
    """
