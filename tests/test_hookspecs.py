"""The SDK's contract: version ranges, the error tree, the envelope, domain types."""

from __future__ import annotations

import msgspec
import pytest

import symphony.hookspecs as sdk
from symphony.hookspecs import (
    API_VERSION,
    ApiRange,
    ApiRangeSyntaxError,
    ErrorPayload,
    EventPayload,
    MessageEnvelope,
    NotFoundError,
    RequestPayload,
    RetryPolicy,
    error_class_for,
)


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        ("^1.0", [(1, 0), (1, 9)], [(0, 9), (2, 0)]),
        ("^0.3", [(0, 3), (0, 3, 9)], [(0, 4), (1, 0)]),
        ("~1.2", [(1, 2), (1, 2, 5)], [(1, 3), (1, 1)]),
        (">=1.0,<3", [(1, 0), (2, 7)], [(0, 9), (3, 0)]),
        ("1.0", [(1, 0), (1, 0, 4)], [(1, 1)]),
        ("*", [(0, 1), (9, 9)], []),
    ],
)
def test_api_range_accepts_the_forms_authors_know(
    text: str, inside: list[tuple[int, ...]], outside: list[tuple[int, ...]]
) -> None:
    api_range = ApiRange(text)
    assert all(version in api_range for version in inside)
    assert not any(version in api_range for version in outside)


def test_api_range_rejects_garbage_with_the_clause_and_the_accepted_forms() -> None:
    with pytest.raises(ApiRangeSyntaxError, match=r"clause 'banana'.*'\^1\.0'"):
        ApiRange(">=1.0,banana")


def test_host_api_version_is_in_the_range_builtins_declare() -> None:
    assert API_VERSION in ApiRange("^1.0")


def test_public_names_are_sorted_and_all_exist() -> None:
    assert sdk.__all__ == sorted(sdk.__all__, key=lambda name: (not name.isupper(), name))
    assert all(hasattr(sdk, name) for name in sdk.__all__)


def test_every_error_is_a_symphony_error_with_a_unique_category() -> None:
    classes = [getattr(sdk, n) for n in sdk.__all__ if n.endswith("Error") and n != "HostStateError"]
    categories = [cls.category for cls in classes]
    assert all(issubclass(cls, sdk.SymphonyError) for cls in classes)
    assert len(categories) == len(set(categories))


def test_misuse_is_a_runtime_error_not_a_symphony_error() -> None:
    assert issubclass(sdk.HostStateError, RuntimeError)
    assert not issubclass(sdk.HostStateError, sdk.SymphonyError)


def test_error_category_maps_back_to_the_most_specific_class() -> None:
    assert error_class_for("data.not_found") is NotFoundError
    assert error_class_for("data.quota_exceeded") is sdk.DataError
    assert error_class_for("martian") is sdk.SymphonyError


def test_a_language_server_error_keeps_its_class_across_the_wire() -> None:
    payload = ErrorPayload.from_exception(sdk.LanguageServerError("no server for .rs"))
    error = msgspec.msgpack.decode(msgspec.msgpack.encode(payload), type=ErrorPayload).to_exception()
    assert type(error) is sdk.LanguageServerError
    assert str(error) == "no server for .rs"


def test_error_payload_round_trips_an_exception_across_the_wire() -> None:
    payload = ErrorPayload.from_exception(NotFoundError("no workflow 7"))
    decoded = msgspec.msgpack.decode(msgspec.msgpack.encode(payload), type=ErrorPayload)
    error = decoded.to_exception()
    assert isinstance(error, NotFoundError)
    assert str(error) == "no workflow 7"


@pytest.mark.parametrize("codec", [msgspec.json, msgspec.msgpack])
def test_envelope_round_trips_every_payload_kind(codec: object) -> None:
    payloads: list[sdk.MessagePayload] = [
        RequestPayload(method="pit.store", params={"size": 3}),
        sdk.ResponsePayload(result=[1, 2]),
        EventPayload(topic="dag.node.finished", data={"node": "a"}),
        ErrorPayload(category="ipc.transport", message="gone"),
    ]
    for payload in payloads:
        envelope = MessageEnvelope.create(payload, sender="a", recipient="b", correlation_id="c1")
        wire = codec.encode(envelope)  # type: ignore[attr-defined]
        assert codec.decode(wire, type=MessageEnvelope) == envelope  # type: ignore[attr-defined]
        assert envelope.header.message_type == payload.__struct_config__.tag


def test_envelope_decode_names_the_unknown_field_and_its_path() -> None:
    bad = b'{"header": {"message_id": "1", "message_type": "event", "timestamp": 0, "sender": "a",'
    bad += b' "recipient": "b", "colour": "red"}, "payload": {"kind": "event", "topic": "t"}}'
    with pytest.raises(msgspec.ValidationError, match=r"unknown field `colour`.*\$\.header"):
        msgspec.json.decode(bad, type=MessageEnvelope)


def test_retry_policy_backs_off_exponentially_up_to_the_cap() -> None:
    policy = RetryPolicy(backoff_initial=0.5, backoff_multiplier=2, backoff_max=3)
    assert [policy.delay(n) for n in range(1, 6)] == [0.0, 0.5, 1.0, 2.0, 3.0]


def test_domain_values_are_frozen() -> None:
    policy = RetryPolicy()
    with pytest.raises(AttributeError):
        policy.max_attempts = 9  # type: ignore[misc]


def test_async_hook_marks_the_startup_hooks() -> None:
    from symphony.hookspecs import hooks

    assert sdk.async_mode(hooks.symphony_startup) == "concurrent"
    assert sdk.async_mode(hooks.symphony_configure) is None
    with pytest.raises(ValueError, match="concurrent"):
        sdk.async_hook("parallel")  # type: ignore[arg-type]


def test_a_subclass_that_inherits_a_category_does_not_take_it_over() -> None:
    class RefinedTransportError(sdk.TransportError):
        """A plugin's own refinement, defined after the SDK's classes."""

    assert error_class_for("ipc.transport") is sdk.TransportError
