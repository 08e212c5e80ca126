"""Fuzz the condition language: parse any text, then evaluate it on hostile JSON-like outputs.

Input: the condition's UTF-8 bytes (undecodable bytes become lone surrogates,
as a JSON ``"\\ud800"`` escape can), a NUL, then bytes that build the upstream
outputs, nested as deep as 5,000 levels.  Allowed: a :class:`Condition` or a
:class:`ConditionError` with an in-range position and a printable message;
``evaluate`` must return a bool, never raise, and agree with the negated
condition.
"""

from __future__ import annotations

from typing import Any

from _harness import fuzz, instrumented

with instrumented(__name__):
    from symphony.builtin_plugins.workflow.conditions import (
        MAX_CONDITION_DEPTH,
        MAX_CONDITION_LENGTH,
        ConditionError,
        parse_condition,
    )

import atheris

_KEYS = ["a", "b", "x", "in", "label", "score", "result", "text", "tags"]
#: Values built per input, all kinds together: keeps one input's memory small.
_BUDGET = 2_000
_DEEPEST = 5_000


def _value(data: atheris.FuzzedDataProvider, budget: list[int]) -> Any:
    budget[0] -= 1
    kind = data.ConsumeIntInRange(0, 8) if budget[0] > 0 else 0
    if kind == 1:
        return data.ConsumeBool()
    if kind == 2:
        return data.ConsumeInt(9)
    if kind == 3:
        return data.ConsumeFloat()
    if kind == 4:
        return data.ConsumeUnicodeNoSurrogates(data.ConsumeIntInRange(0, 12))
    if kind == 5:
        return [_value(data, budget) for _ in range(data.ConsumeIntInRange(0, 4))]
    if kind == 6:
        return {data.PickValueInList(_KEYS): _value(data, budget) for _ in range(data.ConsumeIntInRange(0, 4))}
    if kind in (7, 8):
        value = _value(data, budget)
        for _ in range(data.ConsumeIntInRange(0, _DEEPEST)):
            value = [value] if kind == 7 else {"a": value}
        return value
    return None


def _outputs(raw: bytes) -> dict[str, Any]:
    data = atheris.FuzzedDataProvider(raw)
    budget = [_BUDGET]
    return {data.PickValueInList(_KEYS): _value(data, budget) for _ in range(data.ConsumeIntInRange(0, 6))}


def target(data: bytes) -> None:
    source, _, rest = data.partition(b"\0")
    text = source.decode("utf-8", "surrogateescape")
    try:
        condition = parse_condition(text)
    except ConditionError as error:
        assert 0 <= error.position <= max(len(text), MAX_CONDITION_LENGTH), (error.position, str(error))
        assert error.text == text and "column" in str(error)
        # Shown in a terminal and an editor: the input's control characters must not reach it raw.
        assert str(error).isprintable(), repr(str(error))
        return
    outputs = _outputs(rest)
    result = condition.evaluate(outputs)
    assert isinstance(result, bool)
    negated = f"not ({text})"
    try:
        opposite = parse_condition(negated)
    except ConditionError as error:  # only the limits may refuse a wrapped valid condition
        assert len(negated) > MAX_CONDITION_LENGTH or str(MAX_CONDITION_DEPTH) in str(error), str(error)
        return
    assert opposite.evaluate(outputs) is not result, (text, outputs)


if __name__ == "__main__":
    fuzz(target)
