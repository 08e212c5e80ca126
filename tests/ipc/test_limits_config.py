"""The listener limits of TransportConfig (output_limit, stall_timeout, max_connections) refuse nonsense by name."""

from __future__ import annotations

from typing import Any

import pytest

from symphony.builtin_plugins.ipc.transports import TransportConfig, TransportConfigError, load_config


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"output_limit": 0}, "output_limit"),
        ({"max_connections": -1}, "max_connections"),
        ({"stall_timeout": 0}, "stall_timeout"),
        ({"max_connections": "many"}, "max_connections"),
    ],
)
def test_a_limit_that_cannot_work_is_refused_naming_it(settings: dict[str, Any], named: str) -> None:
    with pytest.raises(TransportConfigError, match=named):
        load_config(settings)


def test_stall_timeout_null_means_never() -> None:
    assert load_config({"stall_timeout": None}).stall_timeout is None


def test_the_defaults_are_the_documented_ones() -> None:
    config = TransportConfig()
    assert (config.output_limit, config.stall_timeout, config.max_connections) == (1024 * 1024, 30.0, 256)
