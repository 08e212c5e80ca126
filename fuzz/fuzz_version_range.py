"""Fuzz the API version ranges (``^1.0``, ``~1.2``, ``>=1.0,<2``) that plugins and extension manifests state.

Allowed: an ApiRange whose ``contains`` answers a bool, or ApiRangeSyntaxError.
"""

from __future__ import annotations

from _harness import fuzz, instrumented

with instrumented(__name__):
    from symphony.hookspecs import API_VERSION, ApiRangeSyntaxError
    from symphony.hookspecs._version import ApiRange


def target(data: bytes) -> None:
    text = data.decode("utf-8", "surrogateescape")
    try:
        wanted = ApiRange(text)
    except ApiRangeSyntaxError as error:
        assert str(error)
        return
    assert isinstance(wanted.contains(API_VERSION), bool)
    assert isinstance(wanted.contains((*API_VERSION, 7)), bool)


if __name__ == "__main__":
    fuzz(target)
