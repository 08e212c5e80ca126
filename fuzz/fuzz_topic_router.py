"""Fuzz the bus's topic router against a plain matcher: what clients subscribe to and publish on.

Input: lines of operations -- ``+pattern`` subscribes, ``-pattern`` unsubscribes,
anything else publishes on that topic -- as a bus client sends them.  Allowed:
ValueError for a malformed topic or pattern; otherwise ``match`` must give
exactly the subscriptions a segment-by-segment NATS matcher gives, in the order
they were added.
"""

from __future__ import annotations

from _harness import fuzz, instrumented

with instrumented(__name__):
    from symphony.builtin_plugins.ipc.bus.router import Router, validate_pattern, validate_topic

#: Operations per input; each can be as long as the input.
_MAX_OPERATIONS = 64


def _matches(pattern: list[str], topic: list[str]) -> bool:
    if pattern[-1] == ">":
        return len(topic) >= len(pattern) and _matches([*pattern[:-1], "*"], topic[: len(pattern)])
    return len(pattern) == len(topic) and all(p in ("*", t) for p, t in zip(pattern, topic, strict=True))


def target(data: bytes) -> None:
    router: Router[int] = Router(cache_size=data[0] % 4 if data else 0)
    routes: list[tuple[int, str]] = []  # (value, pattern), in the order added
    for serial, line in enumerate(data[1:].decode("utf-8", "surrogateescape").split("\n")[:_MAX_OPERATIONS]):
        op, text = line[:1], line[1:]
        if op in ("+", "-"):
            try:
                validate_pattern(text)
            except ValueError:
                continue
            if op == "+":
                router.add(text, serial)
                routes.append((serial, text))
            else:
                present = next((route for route in routes if route[1] == text), None)
                assert router.remove(text, present[0] if present else -1) is (present is not None)
                if present:
                    routes.remove(present)
            continue
        try:
            topic = validate_topic(line)
        except ValueError:
            continue
        expected = tuple(value for value, pattern in routes if _matches(pattern.split("."), topic))
        assert router.match(line) == expected, (line, routes)
    assert len(router) == len(routes)


if __name__ == "__main__":
    fuzz(target)
