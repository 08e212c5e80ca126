"""Fuzz the port type language (``list[list[integer]]`` and friends) as a workflow's author writes it.

Input: two type names separated by a NUL, a source and a target.  Allowed: a
bool from ``compatible`` and ``has_fields``; a type is always compatible with
itself and with ``any``.
"""

from __future__ import annotations

from _harness import fuzz, instrumented

with instrumented(__name__):
    from symphony.builtin_plugins.workflow.types import compatible, has_fields


def target(data: bytes) -> None:
    source, _, rest = data.decode("utf-8", "surrogateescape").partition("\0")
    target_type = rest.partition("\0")[0]
    assert isinstance(compatible(source, target_type), bool)
    assert compatible(source, source) and compatible(source, "any") and compatible("any", target_type)
    assert isinstance(has_fields(source), bool)


if __name__ == "__main__":
    fuzz(target)
