"""Addresses, command-line values and topics a bus client chooses get a clear error, never a crash.

Each case is an input the coverage-guided fuzzer found (fuzz/corpus/tcp_address,
fuzz/corpus/topic_router): a port of Unicode digits escaped as ``ValueError``,
a deeply nested ``--param`` as ``RecursionError``, and a pattern of thousands
of segments made the router recurse out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from symphony.builtin_plugins.ipc.bus import BROADCAST
from symphony.builtin_plugins.ipc.bus.router import Router
from symphony.builtin_plugins.ipc.transports import TransportConfigError
from symphony.builtin_plugins.ipc.transports.tcp import parse_address
from symphony.hookspecs import EventPayload, MessageEnvelope
from tests.conftest import Symphony

from .raw_client import Client, Server, request, serve

#: The documented limit of a topic or pattern (wire-format.md section 9).
MAX_TOPIC_LENGTH = 1024
LONG_PATTERN = "a." * 1500 + "*"
LONG_TOPIC = "a." * 1500 + "x"


# -- TCP addresses ------------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["h:²", "h:٨٠", "h:65536", "h:" + "0" * 5000, "h:-1", "h:"])
def test_a_tcp_address_whose_port_is_not_one_is_a_transport_config_error(address: str) -> None:
    with pytest.raises(TransportConfigError, match="port from 0 to 65535"):
        parse_address(address)


@pytest.mark.parametrize(("address", "expected"), [("h:0", ("h", 0)), ("[::1]:65535", ("::1", 65535))])
def test_a_tcp_address_with_a_port_in_range_is_parsed(address: str, expected: tuple[str, int]) -> None:
    assert parse_address(address) == expected


def test_the_bus_cli_refuses_a_tcp_address_with_a_port_of_unicode_digits(symphony: Callable[..., Symphony]) -> None:
    result = symphony().run("bus", "request", "tcp:h:²", "ping")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "'tcp:h:²' is not an address: use unix:PATH or tcp:HOST:PORT" in result.stderr


def test_the_bus_cli_refuses_a_param_nested_deeper_than_the_limit(symphony: Callable[..., Symphony]) -> None:
    value = "[" * 5000 + "]" * 5000
    result = symphony().run("bus", "request", "unix:none.sock", "ping", "--param", f"x={value}")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "The value of 'x' nests deeper than the limit of 64 levels" in result.stderr


# -- topics and patterns ------------------------------------------------------------------------


def test_a_pattern_longer_than_the_limit_is_refused_with_the_limit() -> None:
    with pytest.raises(ValueError, match=f"more than the limit of {MAX_TOPIC_LENGTH}"):
        Router[int]().add(LONG_PATTERN, 1)


def test_a_topic_longer_than_the_limit_is_refused_with_the_limit() -> None:
    router = Router[int]()
    router.add("a.>", 1)
    with pytest.raises(ValueError, match=f"more than the limit of {MAX_TOPIC_LENGTH}"):
        router.match(LONG_TOPIC)


def test_a_pattern_of_the_longest_length_is_matched_and_removed() -> None:
    router = Router[int](cache_size=0)
    pattern = "a." * (MAX_TOPIC_LENGTH // 2 - 1) + "*"  # 512 segments, 1,023 characters
    router.add(pattern, 1)
    router.add("a.*.>", 2)
    assert router.match(pattern.replace("*", "x")) == (1, 2)
    assert router.remove(pattern, 1)
    assert router.match(pattern.replace("*", "x")) == (2,)
    assert router.remove("a.*.>", 2) and router.match("a.b.c") == ()


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[Server]:
    yield from serve(tmp_path, "bus", "serve")


@pytest.mark.slow
def test_the_bus_server_refuses_a_subscription_pattern_longer_than_the_limit_and_keeps_serving(bus: Server) -> None:
    client = Client(bus.addresses["unix"])
    answer = client.ask(request("subscribe", "bus", pattern=LONG_PATTERN))
    assert answer["header"]["message_type"] == "error"
    assert f"of 1 to {MAX_TOPIC_LENGTH} characters" in answer["payload"]["message"]
    assert client.ask(request("ping", "bus"))["payload"]["result"]["pong"] is True
    client.close()


@pytest.mark.slow
def test_an_event_on_a_topic_longer_than_the_limit_is_dropped_and_its_sender_keeps_its_connection(
    bus: Server,
) -> None:
    subscriber = Client(bus.addresses["unix"])
    assert subscriber.ask(request("subscribe", "bus", pattern="a.*.>"))["payload"]["result"] == {"subscribed": "a.*.>"}
    publisher = Client(bus.addresses["unix"])
    publisher.send(MessageEnvelope.create(EventPayload(topic=LONG_TOPIC, data={}), sender="test", recipient=BROADCAST))
    publisher.send(MessageEnvelope.create(EventPayload(topic="a.b.c", data={}), sender="test", recipient=BROADCAST))
    event = subscriber.receive_envelope()  # only the well-formed event arrives
    assert event["payload"]["topic"] == "a.b.c"
    assert publisher.ask(request("ping", "bus"))["payload"]["result"]["pong"] is True
    subscriber.close()
    publisher.close()
