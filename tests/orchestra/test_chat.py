"""The openai-chat instrument against a real OpenAI-compatible server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from symphony.builtin_plugins.orchestra.chat import chat_instrument
from symphony.hookspecs import AuthorizationError, NetworkError, ValidationError

from .server import KEY, ChatServer, chat_server


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatServer]:
    monkeypatch.setenv("TEST_CHAT_KEY", KEY)
    with chat_server() as running:
        yield running


def instrument(server: ChatServer, **config: Any) -> Any:
    defaults = {"base_url": f"{server.url}/v1", "api_key_env": "TEST_CHAT_KEY", "max_retries": 2, "retry_backoff": 0.01}
    return chat_instrument(defaults)({"model": "echo-1", **config})


async def test_a_prompt_becomes_a_chat_completion(server: ChatServer) -> None:
    outputs = await instrument(server, system="Be brief.", temperature=0.2)({"prompt": "hello"})
    assert outputs == {
        "text": "echo: hello",
        "model": "echo-1",
        "finish_reason": "stop",
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
    (sent,) = server.requests
    assert sent["authorization"] == f"Bearer {KEY}"
    assert sent["body"] == {
        "model": "echo-1",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello"}],
        "temperature": 0.2,
    }


async def test_messages_may_be_given_instead_of_a_prompt(server: ChatServer) -> None:
    messages = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
    ]
    assert (await instrument(server)({"messages": messages}))["text"] == "echo: c"


async def test_server_errors_and_rate_limits_are_retried(server: ChatServer) -> None:
    server.failures_left = 2
    assert (await instrument(server, model="limited")({"prompt": "x"}))["text"] == "echo: x"
    assert len(server.requests) == 3


async def test_retries_end_with_an_error_naming_the_url_and_the_last_answer(server: ChatServer) -> None:
    server.failures_left = 10
    with pytest.raises(NetworkError, match=r"/v1/chat/completions failed after 3 attempt\(s\): HTTP 503: overloaded"):
        await instrument(server, model="flaky")({"prompt": "x"})


async def test_a_wrong_key_is_an_authorization_error_without_the_key(
    server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_CHAT_KEY", "sk-wrong-secret-value")
    with pytest.raises(AuthorizationError, match="Incorrect API key provided") as caught:
        await instrument(server)({"prompt": "x"})
    assert "sk-wrong-secret-value" not in str(caught.value)


async def test_a_missing_key_names_the_variable_to_set(server: ChatServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_CHAT_KEY")
    with pytest.raises(AuthorizationError, match="environment variable TEST_CHAT_KEY"):
        await instrument(server)({"prompt": "x"})


async def test_a_rejected_request_says_what_the_server_said(server: ChatServer) -> None:
    with pytest.raises(ValidationError, match=r"HTTP 404: The model `unknown-model` does not exist"):
        await instrument(server, model="unknown-model")({"prompt": "x"})


async def test_an_unreachable_endpoint_is_a_network_error() -> None:
    broken = chat_instrument({"base_url": "http://127.0.0.1:9/v1", "max_retries": 0, "api_key_env": ""})({})
    with pytest.raises(NetworkError, match=r"127.0.0.1:9/v1/chat/completions failed after 1 attempt"):
        await broken({"prompt": "x"})


def test_unknown_and_bad_config_is_refused_when_the_node_is_built() -> None:
    with pytest.raises(ValidationError, match="does not know config key\\(s\\) temprature"):
        chat_instrument({})({"temprature": 1})
    with pytest.raises(ValidationError, match=r"config\.timeout > 0 seconds; got 0"):
        chat_instrument({})({"timeout": 0})
