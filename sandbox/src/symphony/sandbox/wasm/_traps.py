"""Turns a Wasmtime trap into one :class:`WasmTrapError` that says what happened and what to do."""

from __future__ import annotations

import wasmtime

from ._errors import GuestFault, TrapReason, WasmTrapError
from ._limits import WasmLimits

__all__ = ["classify", "trap_error"]

_MEMORY_SIGNS = ("MemoryError", "memory allocation of", "out of memory", "failed to grow memory")


def classify(message: str, guest_output: str, *, memory_exhausted: bool = False) -> TrapReason:
    """The likeliest cause; ``memory_exhausted`` says the guest's memory was at its limit."""
    if "all fuel consumed" in message or "out of fuel" in message:
        return "fuel"
    if "interrupt" in message:
        return "deadline"
    if memory_exhausted or any(sign in guest_output or sign in message for sign in _MEMORY_SIGNS):
        return "memory"
    if "unexpected exception" in guest_output or "Traceback" in guest_output:
        return "guest"
    return "trap"


def _cause(message: str) -> str:
    """The root cause of a Wasmtime error: the line after "Caused by:", else the first line."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if "Caused by:" in lines and lines.index("Caused by:") + 1 < len(lines):
        return lines[lines.index("Caused by:") + 1]
    return lines[0] if lines else ""


def trap_error(
    exc: wasmtime.WasmtimeError | wasmtime.Trap | GuestFault,
    *,
    extension: str,
    operation: str,
    limits: WasmLimits,
    guest_output: str,
    memory_exhausted: bool = False,
) -> WasmTrapError:
    message = str(exc)
    reason = classify(message, guest_output, memory_exhausted=memory_exhausted)
    cause = _cause(message) or type(exc).__name__
    what = {
        "fuel": (
            f"ran out of fuel ({limits.fuel:,} units per invocation)",
            "make the operation cheaper or raise [resources] cpu_limit in its manifest (fuel scales with it)",
        ),
        "deadline": (
            f"exceeded its wall-clock timeout of {limits.timeout:g} s",
            "make the operation faster or raise [resources] timeout in its manifest",
        ),
        "memory": (
            f"hit its memory limit of {limits.memory_bytes // (1024 * 1024)} MiB",
            "use less memory or raise [resources] memory_limit in its manifest",
        ),
        "guest": (
            "raised an exception it did not handle",
            "fix the extension (its traceback is below) or report it to its author",
        ),
        "trap": (f"trapped ({cause})", "report it to the extension's author"),
    }[reason]
    text = f"Wasm extension {extension!r} {what[0]} in operation {operation!r}; the instance was discarded and the "
    text += f"next call starts a fresh one. To fix: {what[1]}."
    if guest_output.strip():
        text += f"\nGuest output (tail):\n{guest_output.rstrip()}"
    return WasmTrapError(text, extension=extension, reason=reason, guest_output=guest_output)
