"""Fuzz the manifest's ``[resources]`` values: memory sizes (``512MiB``) and CPU shares (``50%``).

Input: a memory text and a CPU text separated by a NUL.  Allowed: a positive
int of bytes / a positive float of cores, or ValueError with a message.
"""

from __future__ import annotations

from _harness import fuzz, instrumented

with instrumented(__name__):
    from symphony.hookspecs._manifest import parse_cpu, parse_memory


def target(data: bytes) -> None:
    memory, _, cpu = data.decode("utf-8", "surrogateescape").partition("\0")
    try:
        size = parse_memory(memory)
    except ValueError as error:
        assert str(error)
    else:
        assert isinstance(size, int) and size > 0
    try:
        cores = parse_cpu(cpu)
    except ValueError as error:
        assert str(error)
    else:
        assert cores > 0 and cores != float("inf")


if __name__ == "__main__":
    fuzz(target)
