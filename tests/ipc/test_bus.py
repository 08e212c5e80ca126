"""The in-process message bus: routing, endpoints, correlation, pub/sub, metrics, and the port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from symphony.builtin_plugins.ipc.bus import DEFERRED, InProcessBus, RequestTimeoutError, Router
from symphony.builtin_plugins.ipc.bus import plugin as bus_plugin
from symphony.hookspecs import (
    EndpointId,
    ErrorPayload,
    EventPayload,
    IpcError,
    MessageEnvelope,
    NotFoundError,
    RequestPayload,
    ResponsePayload,
    SymphonyError,
    TransportError,
    ValidationError,
)
from symphony.hookspecs.ports import MessageBus, Subscription
from symphony.host import Host, Settings

SERVER = EndpointId("server")


@pytest.fixture
async def bus() -> AsyncIterator[InProcessBus]:
    bus = InProcessBus()
    await bus.start()
    yield bus
    await bus.stop()


def request(method: str = "ping", recipient: str = "server", **params: Any) -> MessageEnvelope:
    return MessageEnvelope.create(RequestPayload(method=method, params=params), sender="client", recipient=recipient)


async def settle() -> None:
    """Let delivery tasks run until their queues are drained."""
    for _ in range(5):
        await asyncio.sleep(0)


class Gate:
    """A handler that records envelopes and waits on an Event before returning."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.seen: list[MessageEnvelope] = []

    async def __call__(self, envelope: MessageEnvelope) -> str:
        self.seen.append(envelope)
        await self.open.wait()
        return "late"


class Collector:
    def __init__(self) -> None:
        self.seen: list[MessageEnvelope] = []

    async def __call__(self, envelope: MessageEnvelope) -> None:
        self.seen.append(envelope)

    @property
    def topics(self) -> list[str]:
        return [e.payload.topic for e in self.seen if isinstance(e.payload, EventPayload)]


# -- the port --------------------------------------------------------------------------


def test_bus_implements_the_message_bus_protocol() -> None:
    bus = InProcessBus()
    assert isinstance(bus, MessageBus)
    assert isinstance(bus.subscribe("a.b", Collector()), Subscription)


async def test_host_resolves_message_bus_to_the_builtin_bus(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    host = Host(settings, plugins=[bus_plugin], discover_plugins=False)
    bus = host.port("message_bus")
    assert isinstance(bus, InProcessBus)
    assert host.port("message_bus") is bus


async def test_health_check_reports_the_counters(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    async with Host(settings, plugins=[bus_plugin], discover_plugins=False) as host:
        bus = host.port("message_bus")
        await bus.publish("nobody.listens", {})
        health = await host.health()
        counters = bus.metrics()
    status = health.checks["message_bus"]
    assert status.status == "ok"
    assert status.details["routed"] == counters.routed >= 1  # host events are republished too
    assert status.details["dropped"] == {"no_subscribers": counters.dropped["no_subscribers"]}


# -- request/response ------------------------------------------------------------------


async def test_request_gets_the_correlated_response(bus: InProcessBus) -> None:
    async def double(envelope: MessageEnvelope) -> int:
        assert isinstance(envelope.payload, RequestPayload)
        return int(envelope.payload.params["x"]) * 2

    bus.register_endpoint(SERVER, double)
    sent = request("double", x=21)
    response = await bus.request(sent, timeout=1)
    assert response.header.correlation_id == sent.header.message_id
    assert response.header.sender == "server" and response.header.recipient == "client"
    assert response.payload == ResponsePayload(result=42)
    assert bus.metrics().pending_requests == 0


async def test_deferred_response_arrives_through_send(bus: InProcessBus) -> None:
    async def forward(envelope: MessageEnvelope) -> object:
        reply = MessageEnvelope.create(
            ResponsePayload(result="pong"),
            sender="server",
            recipient="client",
            correlation_id=envelope.header.message_id,
        )
        asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(bus.send(reply)))
        return DEFERRED

    bus.register_endpoint(SERVER, forward)
    response = await bus.request(request(), timeout=1)
    assert response.payload == ResponsePayload(result="pong")


async def test_concurrent_requests_each_get_their_own_response(bus: InProcessBus) -> None:
    async def echo(envelope: MessageEnvelope) -> Any:
        assert isinstance(envelope.payload, RequestPayload)
        await asyncio.sleep(0.001 * (5 - envelope.payload.params["i"]))
        return envelope.payload.params["i"]

    bus.register_endpoint(SERVER, echo)
    responses = await asyncio.gather(*(bus.request(request("echo", i=i), timeout=1) for i in range(5)))
    assert [r.payload for r in responses] == [ResponsePayload(result=i) for i in range(5)]


async def test_request_to_unknown_endpoint_fails_fast_naming_it_and_the_registered(bus: InProcessBus) -> None:
    bus.register_endpoint(EndpointId("editor"), Collector())
    bus.register_endpoint(EndpointId("dag"), Collector())
    with pytest.raises(TransportError, match=r"No endpoint 'worker-7'.*Registered endpoints: dag, editor\."):
        await bus.request(request(recipient="worker-7"), timeout=1)
    assert bus.metrics().unknown_endpoints == 1
    assert bus.metrics().pending_requests == 0


async def test_send_to_unknown_endpoint_truncates_a_long_list(bus: InProcessBus) -> None:
    for i in range(25):
        bus.register_endpoint(EndpointId(f"e{i:02d}"), Collector())
    with pytest.raises(TransportError, match=r"e09 and 15 more\.$"):
        await bus.send(request(recipient="gone"))


async def test_send_to_unregistered_endpoint_fails_fast(bus: InProcessBus) -> None:
    bus.register_endpoint(SERVER, Collector())
    bus.unregister_endpoint(SERVER)
    with pytest.raises(TransportError, match=r"No endpoint 'server'.*Registered endpoints: none\."):
        await bus.send(request())


async def test_registering_a_taken_endpoint_id_fails(bus: InProcessBus) -> None:
    bus.register_endpoint(SERVER, Collector())
    with pytest.raises(TransportError, match="already registered"):
        bus.register_endpoint(SERVER, Collector())


async def test_unregistering_an_endpoint_fails_its_pending_requests_at_once(bus: InProcessBus) -> None:
    bus.register_endpoint(SERVER, Gate())
    pending = asyncio.ensure_future(bus.request(request("slow"), timeout=60))
    await settle()
    bus.unregister_endpoint(SERVER)
    with pytest.raises(TransportError, match=r"Endpoint 'server' was unregistered while request 'slow'"):
        await asyncio.wait_for(pending, 0.5)
    assert bus.metrics().pending_requests == 0


async def test_timeout_raises_an_ipc_timeout_naming_recipient_and_method(bus: InProcessBus) -> None:
    bus.register_endpoint(SERVER, Gate())
    with pytest.raises(RequestTimeoutError, match=r"Request 'compile' to endpoint 'server' got no response") as info:
        await bus.request(request("compile"), timeout=0.01)
    assert isinstance(info.value, IpcError) and isinstance(info.value, TimeoutError)
    assert (info.value.recipient, info.value.method) == ("server", "compile")
    assert bus.metrics().pending_requests == 0


async def test_cancelling_the_awaiting_task_removes_the_pending_entry(bus: InProcessBus) -> None:
    bus.register_endpoint(SERVER, Gate())
    task = asyncio.ensure_future(bus.request(request(), timeout=60))
    await settle()
    assert bus.metrics().pending_requests == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert bus.metrics().pending_requests == 0


async def test_late_response_after_timeout_is_dropped_and_counted(bus: InProcessBus) -> None:
    gate = Gate()
    bus.register_endpoint(SERVER, gate)
    with pytest.raises(RequestTimeoutError):
        await bus.request(request(), timeout=0.01)
    gate.open.set()
    await settle()
    metrics = bus.metrics()
    assert metrics.late_responses == 1
    assert metrics.dropped == {"late_response": 1}


async def test_late_response_sent_after_cancel_is_dropped_and_counted(bus: InProcessBus) -> None:
    bus.register_endpoint(SERVER, lambda envelope: asyncio.sleep(0, DEFERRED))
    sent = request()
    task = asyncio.ensure_future(bus.request(sent, timeout=60))
    await settle()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    late = MessageEnvelope.create(
        ResponsePayload(result=1), sender="server", recipient="client", correlation_id=sent.header.message_id
    )
    await bus.send(late)  # neither raises nor reaches an endpoint 'client' (there is none)
    assert bus.metrics().late_responses == 1


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (NotFoundError("no such workflow"), NotFoundError),
        (ValidationError("bad edge"), ValidationError),
        (TransportError("pipe closed"), TransportError),
        (RuntimeError("boom"), SymphonyError),
    ],
)
async def test_error_payload_raises_the_mapped_exception(
    bus: InProcessBus, raised: Exception, expected: type[SymphonyError]
) -> None:
    async def fail(envelope: MessageEnvelope) -> None:
        raise raised

    bus.register_endpoint(SERVER, fail)
    with pytest.raises(expected, match=str(raised)) as info:
        await bus.request(request(), timeout=1)
    assert type(info.value) is expected
    assert bus.metrics().failed_handlers == 1


async def test_error_envelope_sent_back_raises_its_category(bus: InProcessBus) -> None:
    async def refuse(envelope: MessageEnvelope) -> MessageEnvelope:
        return MessageEnvelope.create(
            ErrorPayload(category="data.not_found", message="gone"),
            sender="server",
            recipient="client",
            correlation_id=envelope.header.message_id,
        )

    bus.register_endpoint(SERVER, refuse)
    with pytest.raises(NotFoundError, match="gone"):
        await bus.request(request(), timeout=1)


async def test_request_needs_a_request_payload(bus: InProcessBus) -> None:
    bus.register_endpoint(SERVER, Collector())
    event = MessageEnvelope.create(EventPayload(topic="a"), sender="client", recipient="server")
    with pytest.raises(IpcError, match="needs an envelope with a RequestPayload"):
        await bus.request(event, timeout=1)


async def test_stop_fails_pending_requests_and_refuses_new_ones() -> None:
    bus = InProcessBus()
    bus.register_endpoint(SERVER, Gate())
    pending = asyncio.ensure_future(bus.request(request("slow"), timeout=60))
    await settle()
    await bus.stop()
    with pytest.raises(TransportError, match="stopped while request 'slow'"):
        await pending
    with pytest.raises(TransportError, match="stopped"):
        await bus.publish("a.b", {})


# -- routing ---------------------------------------------------------------------------


async def test_send_routes_a_request_to_its_recipient_by_exact_id(bus: InProcessBus) -> None:
    server, other = Collector(), Collector()
    bus.register_endpoint(SERVER, server)
    bus.register_endpoint(EndpointId("other"), other)
    sent = request()
    await bus.send(sent)
    assert server.seen == [sent] and other.seen == []


async def test_send_routes_a_broadcast_event_to_subscribers_by_topic(bus: InProcessBus) -> None:
    nodes = Collector()
    bus.subscribe("dag.node.*", nodes)
    event = MessageEnvelope.create(EventPayload(topic="dag.node.finished"), sender="dag", recipient="*")
    await bus.send(event)
    await settle()
    assert nodes.seen == [event]


async def test_send_routes_an_uncorrelated_response_to_its_recipient(bus: InProcessBus) -> None:
    client = Collector()
    bus.register_endpoint(EndpointId("client"), client)
    reply = MessageEnvelope.create(ResponsePayload(result=1), sender="server", recipient="client", correlation_id="x")
    await bus.send(reply)
    assert client.seen == [reply]


MATCHES = [
    ("dag.node.finished", "dag.node.finished", True),
    ("dag.node.finished", "dag.node.started", False),
    ("dag.node.finished", "dag.node", False),
    ("dag.node.finished", "dag.*.finished", True),
    ("dag.edge.finished", "dag.*.finished", True),
    ("dag.node.x.finished", "dag.*.finished", False),
    ("dag.node.finished", "*.*.*", True),
    ("dag.node", "*.*.*", False),
    ("dag.node.finished", "dag.>", True),
    ("dag.node", "dag.>", True),
    ("dag", "dag.>", False),
    ("editor.buffer", "dag.>", False),
    ("dag.node.finished", ">", True),
    ("dag", ">", True),
    ("dag.node.finished", "dag.*.>", True),
    ("dag.node", "dag.*.>", False),
    ("dag.node.finished", "*.node.>", True),
    ("dag.nodes.finished", "*.node.>", False),
    ("dag.node.finished", "dag.node.finished.>", False),
    ("dag", "*", True),
    ("dag.node", "*", False),
]


@pytest.mark.parametrize(("topic", "pattern", "matches"), MATCHES)
def test_router_matches_wildcard_patterns_like_nats(topic: str, pattern: str, matches: bool) -> None:
    router: Router[str] = Router()
    router.add(pattern, "hit")
    assert router.match(topic) == (("hit",) if matches else ())


@pytest.mark.parametrize(("topic", "pattern", "matches"), MATCHES)
async def test_publish_delivers_by_pattern(bus: InProcessBus, topic: str, pattern: str, matches: bool) -> None:
    seen = Collector()
    bus.subscribe(pattern, seen)
    assert await bus.publish(topic, {}) == int(matches)
    await settle()
    assert seen.topics == ([topic] if matches else [])


def test_router_returns_every_match_in_the_order_routes_were_added() -> None:
    router: Router[str] = Router()
    for name, pattern in [("a", "dag.>"), ("b", "dag.node.finished"), ("c", "*.node.*"), ("d", "dag.node.finished")]:
        router.add(pattern, name)
    assert router.match("dag.node.finished") == ("a", "b", "c", "d")


def test_router_cache_is_invalidated_when_routes_change() -> None:
    router: Router[str] = Router()
    router.add("dag.*", "first")
    assert router.match("dag.node") == ("first",)
    router.add("dag.>", "second")
    assert router.match("dag.node") == ("first", "second")
    assert router.remove("dag.*", "first")
    assert router.match("dag.node") == ("second",)
    assert not router.remove("dag.*", "first")


def test_router_cache_stays_bounded() -> None:
    router: Router[str] = Router(cache_size=8)
    router.add("t.*", "hit")
    for i in range(100):
        assert router.match(f"t.{i}") == ("hit",)
    assert len(router._cache) <= 8


@pytest.mark.parametrize("pattern", ["", "a..b", "a.>.b", "a.b*", "a.>x"])
def test_router_rejects_malformed_patterns(pattern: str) -> None:
    with pytest.raises(ValueError, match="Pattern"):
        Router[str]().add(pattern, "x")


@pytest.mark.parametrize("topic", ["", "a..b", "a.*", "a.>"])
async def test_publish_rejects_malformed_topics(bus: InProcessBus, topic: str) -> None:
    with pytest.raises(ValueError, match="Topic"):
        await bus.publish(topic, {})


# -- pub/sub ---------------------------------------------------------------------------


async def test_publish_delivers_to_every_matching_subscriber(bus: InProcessBus) -> None:
    exact, star, rest, other = Collector(), Collector(), Collector(), Collector()
    bus.subscribe("dag.node.finished", exact)
    bus.subscribe("dag.*.finished", star)
    bus.subscribe("dag.>", rest)
    bus.subscribe("editor.>", other)
    assert await bus.publish("dag.node.finished", {"node": "n1"}) == 3
    await settle()
    for seen in (exact, star, rest):
        assert seen.topics == ["dag.node.finished"]
        assert seen.seen[0].payload == EventPayload(topic="dag.node.finished", data={"node": "n1"})
    assert other.seen == []


async def test_slow_subscriber_drops_oldest_while_publishers_never_block(bus: InProcessBus) -> None:
    slow, fast = Gate(), Collector()
    bus.subscribe("load.>", slow, queue_size=5)
    bus.subscribe("load.>", fast)
    await bus.publish("load.0", {})
    await settle()  # the slow subscriber is now stuck in its handler on load.0
    for i in range(1, 101):
        await asyncio.wait_for(bus.publish(f"load.{i}", {}), 0.1)
    assert bus.metrics().dropped == {"queue_full": 95}
    slow.open.set()
    await settle()
    await settle()
    assert [e.payload.topic for e in slow.seen if isinstance(e.payload, EventPayload)] == [
        "load.0",
        *(f"load.{i}" for i in range(96, 101)),
    ]
    assert fast.topics == [f"load.{i}" for i in range(101)]


async def test_raising_subscriber_is_counted_and_keeps_receiving(
    bus: InProcessBus, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    async def flaky(envelope: MessageEnvelope) -> None:
        assert isinstance(envelope.payload, EventPayload)
        seen.append(envelope.payload.topic)
        if envelope.payload.topic == "a.bad":
            raise RuntimeError("handler bug")

    bus.subscribe("a.*", flaky)
    await bus.publish("a.bad", {})
    await bus.publish("a.good", {})
    await settle()
    assert seen == ["a.bad", "a.good"]
    assert bus.metrics().failed_handlers == 1
    assert "handler bug" in caplog.text


async def test_cancelled_subscription_receives_nothing_more(bus: InProcessBus) -> None:
    seen = Collector()
    subscription = bus.subscribe("a.>", seen)
    await bus.publish("a.1", {})
    await settle()
    subscription.cancel()
    assert await bus.publish("a.2", {}) == 0
    await settle()
    assert seen.topics == ["a.1"]
    assert bus.metrics().subscriptions == 0


async def test_subscription_made_before_start_delivers_after_start() -> None:
    bus = InProcessBus()
    seen = Collector()
    bus.subscribe("x", seen)
    await bus.start()
    await bus.publish("x", {})
    await settle()
    await bus.stop()
    assert seen.topics == ["x"]


# -- metrics ---------------------------------------------------------------------------


async def test_metrics_count_routing_delivery_and_drops(bus: InProcessBus) -> None:
    bus.register_endpoint(SERVER, lambda envelope: asyncio.sleep(0, "ok"))
    bus.subscribe("m.*", Collector())
    bus.subscribe("m.>", Collector())
    await bus.request(request(), timeout=1)  # routed: request + response
    await bus.send(request())  # routed 1, delivered 1
    await bus.publish("m.x", {})  # routed 1, delivered 2
    await bus.publish("nobody", {})  # routed 1, dropped no_subscribers
    await settle()
    with pytest.raises(TransportError):
        await bus.send(request(recipient="gone"))
    metrics = bus.metrics()
    assert metrics.routed == 5
    assert metrics.delivered == 4
    assert metrics.dropped == {"no_subscribers": 1}
    assert metrics.unknown_endpoints == 1
    assert (metrics.endpoints, metrics.subscriptions, metrics.pending_requests) == (1, 2, 0)
    assert metrics.request_latency.count == 1 and metrics.request_latency.max_us > 0
    assert metrics.delivery_latency.count == 2
    assert metrics.late_responses == metrics.failed_handlers == 0


def test_router_without_a_cache_still_matches() -> None:
    router: Router[str] = Router(cache_size=0)
    router.add("a.*", "hit")
    assert router.match("a.b") == ("hit",)
    assert router.match("a.b") == ("hit",)
    assert router._cache == {}


async def test_the_host_starts_and_stops_the_builtin_bus_with_its_components(tmp_path: Path) -> None:
    from symphony.builtin_plugins.ipc.bus import plugin as bus_plugin
    from symphony.host import Host, Settings

    host = Host(Settings(data_dir=tmp_path, cache_dir=tmp_path), plugins=[bus_plugin], discover_plugins=False)
    async with host:
        bus = host.port("message_bus")
        assert bus.running
        assert [c.name for c in host.components if c.state == "running"] == ["message_bus"]
    assert not bus.running


async def test_host_events_are_republished_on_the_running_bus(tmp_path: Path) -> None:
    from symphony.hookspecs import Event

    seen: list[MessageEnvelope] = []

    async def observe(envelope: MessageEnvelope) -> None:
        seen.append(envelope)

    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    async with Host(settings, plugins=[bus_plugin], discover_plugins=False) as host:
        host.port("message_bus").subscribe("editor.>", observe)
        host.emit(Event(topic="editor.saved", source="editor", data={"path": "a.txt"}))
        await asyncio.sleep(0.05)
    assert [(e.payload.topic, e.payload.data, e.header.sender) for e in seen] == [  # type: ignore[union-attr]
        ("editor.saved", {"path": "a.txt"}, "editor")
    ]


async def test_the_editors_notifications_flow_through_the_bus(tmp_path: Path) -> None:
    from symphony.builtin_plugins.editor import plugin as editor_plugin
    from symphony.hookspecs.ports import Position, TextEdit

    topics: list[tuple[str, int]] = []

    async def observe(envelope: MessageEnvelope) -> None:
        topics.append((envelope.payload.topic, envelope.payload.data["version"]))  # type: ignore[union-attr]

    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    async with Host(settings, plugins=[bus_plugin, editor_plugin], discover_plugins=False) as host:
        host.port("message_bus").subscribe("editor.*", observe)
        editor = host.port("text_editing")
        buffer = await editor.open_file(tmp_path / "notes.txt")
        at = Position(line=0, character=0)
        await editor.edit_text(buffer, TextEdit(start=at, end=at, text="hello"))
        await editor.save_buffer(buffer)
        await editor.close_buffer(buffer)
        await asyncio.sleep(0.05)
    assert topics == [("editor.opened", 0), ("editor.changed", 1), ("editor.saved", 1), ("editor.closed", 1)]


async def test_the_dag_trackers_run_and_node_events_flow_through_the_bus(tmp_path: Path) -> None:
    from symphony.builtin_plugins.orchestra import plugin as orchestra_plugin
    from symphony.builtin_plugins.pit.dag import plugin as dag_plugin
    from symphony.builtin_plugins.workflow import decode

    workflow = decode(
        b"""
schema_version = 1
id = "hello"
name = "hello"
[inputs]
name = { type = "string" }
[outputs]
text = "greet.text"
[nodes.greet]
kind = "operator"
uses = "text-template"
config = { template = "Hello, {value}!" }
[[edges]]
kind = "data"
from = "inputs.name"
to = "greet.values"
""",
        "toml",
    )
    topics: list[str] = []

    async def observe(envelope: MessageEnvelope) -> None:
        topics.append(envelope.payload.topic)  # type: ignore[union-attr]

    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    plugins = [bus_plugin, dag_plugin, orchestra_plugin]
    async with Host(settings, plugins=plugins, discover_plugins=False) as host:
        bus = host.port("message_bus")
        bus.subscribe("run.>", observe)
        bus.subscribe("node.>", observe)
        result = await host.port("dag_tracker").run(workflow, {"name": "Ada"})
        await asyncio.sleep(0.05)
    assert result.outputs == {"text": "Hello, Ada!"}
    assert topics[0] == "run.started" and topics[-1].startswith("run.")
    assert "node.running" in topics
