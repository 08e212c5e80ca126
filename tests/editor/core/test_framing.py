"""Framing and the request loop: one JSON object per line, errors answered, the core goes on."""

from __future__ import annotations

import json

from symphony.builtin_plugins.editor.core.server import MAX_LINE

from .support import CoreProcess


def test_ping_answers_an_empty_object(core: CoreProcess) -> None:
    assert core.call("ping", {}) == {}


def test_a_jsonrpc_member_is_accepted_and_ignored(core: CoreProcess) -> None:
    _, response = core.exchange("ping", {}, jsonrpc="2.0")
    assert response["result"] == {}


def test_a_line_that_is_not_json_gets_a_parse_error_with_a_null_id_and_the_core_goes_on(core: CoreProcess) -> None:
    core.send_raw(b"{not json\n")
    response = core.read()
    assert (response["id"], response["error"]["code"]) == (None, -32700)
    assert "one JSON object per line" in response["error"]["message"]
    assert core.call("ping") == {}


def test_a_json_value_that_is_not_an_object_is_an_invalid_request(core: CoreProcess) -> None:
    core.send_raw(b"[1, 2]\n")
    assert core.read()["error"]["code"] == -32600


def test_a_request_without_an_integer_id_is_an_invalid_request_with_a_null_id(core: CoreProcess) -> None:
    core.send_raw(b'{"id": "seven", "method": "ping"}\n')
    response = core.read()
    assert (response["id"], response["error"]["code"]) == (None, -32600)


def test_a_request_without_a_method_is_an_invalid_request(core: CoreProcess) -> None:
    core.send_raw(b'{"id": 4, "params": {}}\n')
    assert core.read() == {"id": 4, "error": {"code": -32600, "message": "The request's method must be a string."}}


def test_params_that_are_not_an_object_are_invalid_params(core: CoreProcess) -> None:
    assert core.error("ping", [1])["code"] == -32602


def test_an_unknown_method_is_refused_with_the_known_ones(core: CoreProcess) -> None:
    error = core.error("open_file", {})
    assert error["code"] == -32601
    assert "new_view" in error["message"]


def test_responses_come_in_request_order(core: CoreProcess) -> None:
    sent = [core.send("ping") for _ in range(50)]
    assert [core.read()["id"] for _ in sent] == sent


def test_a_line_over_the_limit_is_refused_and_the_core_goes_on(core: CoreProcess) -> None:
    core.send_raw(b'{"id": 1, "method": "ping", "params": {"pad": "' + b"x" * MAX_LINE + b'"}}\n')
    response = core.read()
    assert (response["id"], response["error"]["code"]) == (None, -32700)
    assert "64 MiB" in response["error"]["message"]
    assert core.call("ping") == {}


def test_end_of_input_ends_the_core_with_status_0(core: CoreProcess) -> None:
    assert core.process.stdin is not None
    core.process.stdin.close()
    assert core.wait() == 0


def test_shutdown_answers_null_then_the_core_exits_with_status_0(core: CoreProcess) -> None:
    assert core.call("shutdown", {}) is None
    assert core.wait() == 0


def test_the_core_writes_only_json_lines_to_stdout(core: CoreProcess) -> None:
    core.send_raw(b"\n\x00\xff garbage\n{}\n")
    for _ in range(3):
        assert "error" in json.loads(core.read_line())
