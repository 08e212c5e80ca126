"""Mediated HTTP performs exactly the request the checker approved, against a hostile server on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from hypothesis import given, settings
from hypothesis import strategies as st

from symphony.builtin_plugins.orchestra import plugin as orchestra_plugin
from symphony.hookspecs import (
    ModelAccess,
    ModelBudget,
    NetworkAccess,
    NetworkError,
    PermissionDeniedError,
    SymphonyError,
    ValidationError,
)
from symphony.hookspecs.runtimes import Launch
from symphony.host.extensions._mediated_http import MAX_RESPONSE_BYTES
from symphony.host.extensions._services import HostServices
from symphony.host.permissions import Permissions
from symphony.sandbox.wasm import build_python_component
from symphony.sandbox.wasm.adapter import WasmManagerRuntime
from tests.orchestra.server import KEY, chat_server
from tests.sandbox.wasm.conftest import HOSTILE_GUEST, user_cache

from .mediation_host import mediation
from .mediation_server import MediationServer

MIB = 1024 * 1024
DECLARED = (NetworkAccess(hosts=("127.0.0.1", "localhost", "2130706433")),)


@pytest.fixture
def server() -> Iterator[MediationServer]:
    with MediationServer() as running:
        yield running


@pytest.fixture
def granted(tmp_path: Path) -> Iterator[tuple[HostServices, Permissions]]:
    """``fetcher`` may reach 127.0.0.1 (any port), and has declared but not been granted the other names."""
    with mediation(tmp_path, DECLARED, ["network:127.0.0.1"]) as opened:
        yield opened


@pytest.fixture
def services(granted: tuple[HostServices, Permissions]) -> HostServices:
    return granted[0]


# -- defect 6: the request is the one the checker approved -------------------------------------------


async def test_the_host_header_sent_is_the_checked_host(services: HostServices, server: MediationServer) -> None:
    answer = await services.http("fetcher", {"url": server.url("/whoami")})
    assert answer["body"] == f"vhost 127.0.0.1:{server.port}"


async def test_a_host_header_from_the_extension_is_refused_so_no_other_virtual_host_is_reached(
    services: HostServices, server: MediationServer
) -> None:
    with pytest.raises(ValidationError, match="may not set the header 'Host'"):
        await services.http("fetcher", {"url": server.url("/whoami"), "headers": {"Host": "admin.internal"}})
    assert server.hits == []


@pytest.mark.parametrize(
    "header",
    [
        "host",
        "Connection",
        "Keep-Alive",
        "Proxy-Authorization",
        "Proxy-Connection",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Content-Length",
        "Forwarded",
        "X-Forwarded-Host",
        "X-Original-URL",
        "X-HTTP-Method-Override",
    ],
)
async def test_routing_and_hop_by_hop_headers_are_refused(
    services: HostServices, server: MediationServer, header: str
) -> None:
    with pytest.raises(ValidationError, match="the host sets the target, the connection and the framing"):
        await services.http("fetcher", {"url": server.url("/whoami"), "headers": {header: "x"}})
    assert server.hits == []


async def test_a_header_value_with_a_line_break_is_refused(services: HostServices, server: MediationServer) -> None:
    smuggled = {"X-Note": "a\r\nHost: admin.internal"}
    with pytest.raises(ValidationError, match="without line breaks"):
        await services.http("fetcher", {"url": server.url("/whoami"), "headers": smuggled})
    assert server.hits == []


async def test_a_header_value_outside_printable_ascii_is_refused_clearly(
    services: HostServices, server: MediationServer
) -> None:
    with pytest.raises(ValidationError, match="printable ASCII"):
        await services.http("fetcher", {"url": server.url("/whoami"), "headers": {"X-Note": "caf\u00e9"}})
    assert server.hits == []


async def test_ordinary_headers_reach_the_server(services: HostServices, server: MediationServer) -> None:
    answer = await services.http("fetcher", {"url": server.url("/headers"), "headers": {"Authorization": "Bearer t"}})
    assert json.loads(answer["body"])["Authorization"] == "Bearer t"


# -- URL forms: one parser for the check and the connection ------------------------------------------


@pytest.mark.parametrize(
    "form",
    [
        "http://127.0.0.1:{port}@localhost:{port}/whoami",
        "http://127.0.0.1@localhost:{port}/whoami",
        "http://localhost:{port}#@127.0.0.1:{port}/whoami",
        "http://localhost:{port}\\@127.0.0.1:{port}/whoami",
        "http://2130706433:{port}/whoami",
        "http://127.1:{port}/whoami",
        "http://0x7f.0.0.1:{port}/whoami",
        "http://0177.0.0.1:{port}/whoami",
        "http://[::ffff:127.0.0.1]:{port}/whoami",
        "http://127.0.0.1.evil.test:{port}/whoami",
    ],
)
async def test_a_url_form_that_names_another_host_does_not_reach_the_granted_one(
    services: HostServices, server: MediationServer, form: str
) -> None:
    with pytest.raises((ValidationError, PermissionDeniedError, NetworkError)):
        await services.http("fetcher", {"url": form.format(port=server.port)})
    assert server.hits == []


async def test_user_info_in_a_url_is_refused_with_the_fix(services: HostServices, server: MediationServer) -> None:
    with pytest.raises(ValidationError, match="Authorization header"):
        await services.http("fetcher", {"url": server.url("/whoami").replace("://", "://user:pw@")})


async def test_case_and_a_trailing_dot_are_the_same_host(services: HostServices, server: MediationServer) -> None:
    answer = await services.http("fetcher", {"url": f"HTTP://127.0.0.1.:{server.port}/whoami"})
    assert answer["status"] == 200


# -- DNS: a granted name does not reach the host's own services ---------------------------------------


async def test_a_granted_name_resolving_to_loopback_is_denied_without_the_address_granted(
    tmp_path: Path, server: MediationServer
) -> None:
    with mediation(tmp_path, DECLARED, ["network:localhost"]) as (services, permissions):
        with pytest.raises(PermissionDeniedError, match=r"'localhost' resolves to 127\.0\.0\.1.*symphony ext grant"):
            await services.http("fetcher", {"url": server.url("/whoami", host="localhost")})
        denied = permissions.audit.entries(extension="fetcher", decision="denied")
    assert server.hits == []
    assert [entry.permission for entry in denied] == [f"network:127.0.0.1:{server.port}"]


async def test_a_decimal_address_is_a_name_that_needs_its_address_granted(
    tmp_path: Path, server: MediationServer
) -> None:
    with (
        mediation(tmp_path, DECLARED, ["network:2130706433"]) as (services, _),
        pytest.raises(PermissionDeniedError, match=r"resolves to 127\.0\.0\.1"),
    ):
        await services.http("fetcher", {"url": server.url("/whoami", host="2130706433")})
    assert server.hits == []


async def test_a_name_reaches_a_loopback_address_granted_too_and_keeps_its_host_header(
    tmp_path: Path, server: MediationServer
) -> None:
    with mediation(tmp_path, DECLARED, ["network:localhost", "network:127.0.0.1"]) as (services, _):
        answer = await services.http("fetcher", {"url": server.url("/whoami", host="localhost")})
    assert answer["body"] == f"vhost localhost:{server.port}"


async def test_https_pinned_to_the_checked_address_still_verifies_the_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(context)
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    with (
        MediationServer(tls=context) as server,
        mediation(tmp_path, DECLARED, ["network:localhost", "network:127.0.0.1"]) as (services, _),
    ):
        answer = await services.http("fetcher", {"url": server.url("/whoami", host="localhost")})
        with pytest.raises(NetworkError, match="ConnectError"):
            await services.http("fetcher", {"url": server.url("/whoami")})  # the certificate names localhost only
    assert answer["body"] == f"vhost localhost:{server.port}"


# -- redirects, deadlines, sizes ------------------------------------------------------------------------


async def test_a_redirect_to_another_host_is_returned_not_followed(
    services: HostServices, server: MediationServer
) -> None:
    with MediationServer("127.0.0.2") as elsewhere:
        target = elsewhere.url("/whoami")
        answer = await services.http("fetcher", {"url": server.url(f"/redirect?to={target}")})
        assert elsewhere.hits == []
    assert answer["status"] == 302 and answer["headers"]["location"] == target


async def test_a_trickling_server_hits_the_total_deadline(services: HostServices, server: MediationServer) -> None:
    with pytest.raises(NetworkError, match="did not complete within 1 s, the request's total deadline"):
        await services.http("fetcher", {"url": server.url("/trickle"), "timeout": 1})


@pytest.mark.parametrize("timeout", [0, -1, 10_000, "soon", True])
async def test_a_timeout_outside_the_range_is_refused(services: HostServices, timeout: object) -> None:
    with pytest.raises(ValidationError, match="timeout must be a number of seconds"):
        await services.http("fetcher", {"url": "http://127.0.0.1/", "timeout": timeout})


async def test_a_response_within_the_limit_is_returned_whole(services: HostServices, server: MediationServer) -> None:
    answer = await services.http("fetcher", {"url": server.url(f"/big/{MAX_RESPONSE_BYTES}")})
    assert len(answer["body"]) == MAX_RESPONSE_BYTES


async def test_an_over_size_response_is_the_responses_fault(services: HostServices, server: MediationServer) -> None:
    with pytest.raises(NetworkError, match=r"body larger than 8 MiB.*The response is at fault, not the extension"):
        await services.http("fetcher", {"url": server.url(f"/big/{MAX_RESPONSE_BYTES + 1}")})


async def test_a_compression_bomb_is_decoded_only_up_to_the_limit(
    services: HostServices, server: MediationServer
) -> None:
    with pytest.raises(NetworkError, match="body larger than 8 MiB"):
        await services.http("fetcher", {"url": server.url(f"/bomb/{64 * MIB}")})


@pytest.mark.slow
def test_a_huge_response_keeps_host_memory_bounded_and_the_worker_running(
    tmp_path: Path, server: MediationServer
) -> None:
    """The host side runs in its own process, so its peak RSS is its own; the body is 256 MiB."""
    script = Path(__file__).with_name("mediation_host.py")
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path), server.url(f"/big/{256 * MIB}"), server.url("/whoami")],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["big"]["error"] == "NetworkError" and "larger than 8 MiB" in report["big"]["message"]
    assert report["rss_growth"] < 100 * MIB, report
    assert report["small"] == {"status": 200, "size": len(f"vhost 127.0.0.1:{server.port}")}
    assert (report["starts"], report["failures"]) == (1, 0), "the worker was not killed nor counted as failing"


# -- model calls -------------------------------------------------------------------------------------------


@contextlib.contextmanager
def model_mediation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[HostServices, Permissions, Any]]:
    """Services whose model calls reach the real openai-chat instrument, against a chat server on loopback."""
    monkeypatch.setenv("MEDIATION_KEY", KEY)
    with chat_server() as chat:
        openai = {"options": {"base_url": f"{chat.url}/v1", "api_key_env": "MEDIATION_KEY"}}
        with mediation(
            tmp_path, (ModelAccess(models=("echo-1",)),), [], plugins=[orchestra_plugin], components={"openai": openai}
        ) as (services, permissions):
            yield services, permissions, chat


async def test_concurrent_model_calls_cannot_overrun_the_call_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with model_mediation(tmp_path, monkeypatch) as (services, permissions, chat):
        permissions.grants.grant("fetcher", ["model:echo-1"], budget=ModelBudget(calls=2))
        calls = [services.model("fetcher", {"model": "echo-1", "input": str(n)}) for n in range(8)]
        results = await asyncio.gather(*calls, return_exceptions=True)
    assert sum(isinstance(result, str) for result in results) == 2
    assert all(isinstance(result, str | PermissionDeniedError) for result in results)
    assert len(chat.requests) == 2, "no call over budget may reach the model"


async def test_a_model_answer_too_large_for_the_frame_back_is_the_answers_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with model_mediation(tmp_path, monkeypatch) as (services, permissions, _chat):
        permissions.grants.grant("fetcher", ["model:echo-1"])
        with pytest.raises(NetworkError, match="more than 8 MiB of text"):
            await services.model("fetcher", {"model": "echo-1", "input": "x" * (MAX_RESPONSE_BYTES + 1)})
        assert await services.model("fetcher", {"model": "echo-1", "input": "short"}) is not None


# -- the wasm runtime: the same mediation behind its http-request host function ------------------------


@pytest.mark.slow
async def test_in_wasm_an_over_size_response_is_a_failed_host_call_and_the_guest_goes_on(
    tmp_path: Path, server: MediationServer
) -> None:
    component = build_python_component(HOSTILE_GUEST, "hostile_guest", user_cache("wasm-build"))
    wasm = WasmManagerRuntime(user_cache("wasm-compiled-tests"))
    with mediation(tmp_path, DECLARED, ["network:127.0.0.1"], extension="hostile") as (services, _):
        launch = Launch(name="hostile", kind="wasm", entry=str(component))
        instance = await wasm.start(launch, services.host_call("hostile"))
        try:
            big = await instance.invoke("http", {"url": server.url(f"/big/{64 * MIB}")})
            small = await instance.invoke("http", {"url": server.url("/whoami")})
        finally:
            await instance.close()
            wasm.close()
    assert "larger than 8 MiB" in big["message"], big
    assert small["ok"] == {"status": 200, "body": f"vhost 127.0.0.1:{server.port}"}


# -- hostile arguments ---------------------------------------------------------------------------------------

_ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=40),
    st.binary(max_size=40),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3),
)


def test_no_http_host_call_arguments_raise_anything_but_a_clear_error(tmp_path: Path) -> None:
    """Whatever the guest sends, the host answers with a SymphonyError (a refusal the guest sees), never a crash."""
    with socket.socket() as closed, mediation(tmp_path, DECLARED, ["network:127.0.0.1"]) as (services, _):
        closed.bind(("127.0.0.1", 0))  # bound, not listening: connecting is refused at once
        port = closed.getsockname()[1]
        prefixes = ["", "http://", "https://", f"http://127.0.0.1:{port}", f"https://127.0.0.1:{port}/", "http://["]
        urls = st.one_of(_ANYTHING, st.builds(str.__add__, st.sampled_from(prefixes), st.text(max_size=40)))
        headers = st.one_of(_ANYTHING, st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=4))
        timeouts = st.one_of(_ANYTHING, st.floats(min_value=0.01, max_value=2))
        arguments = st.fixed_dictionaries(
            {}, optional={"url": urls, "method": _ANYTHING, "headers": headers, "body": _ANYTHING, "timeout": timeouts}
        )

        @settings(max_examples=300, deadline=None, database=None)
        @given(params=arguments)
        def call(params: dict[str, object]) -> None:
            with pytest.raises(SymphonyError):
                asyncio.run(services.http("fetcher", params))

        call()


# -- log -------------------------------------------------------------------------------------------------------


async def test_a_log_line_cannot_forge_other_lines_or_drive_the_terminal(
    services: HostServices, caplog: pytest.LogCaptureFixture
) -> None:
    forged = "done\n2026-12-07 INFO symphony.host: all extensions verified\x1b[2J\r"
    with caplog.at_level("INFO", logger="symphony.extensions.fetcher"):
        await services.host_call("fetcher")("log", {"message": forged})
    [record] = caplog.records
    assert record.getMessage() == "done\\x0a2026-12-07 INFO symphony.host: all extensions verified\\x1b[2J\\x0d"


def test_the_largest_mediated_answer_leaves_room_in_the_frame_back_to_the_worker() -> None:
    from symphony.builtin_plugins.ipc.framing import DEFAULT_MAX_FRAME_SIZE

    assert MAX_RESPONSE_BYTES <= DEFAULT_MAX_FRAME_SIZE // 2
