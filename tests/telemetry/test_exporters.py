"""Which exporter gets the spans, chosen by ``[components.telemetry.options]``, through the real CLI."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.conftest import parse_json

from .spans import console_spans

if TYPE_CHECKING:
    from tests.conftest import Symphony

WELCOME = str(Path(__file__).resolve().parents[2] / "examples" / "welcome.toml")
USER = 'user={"name": "Ada", "active": true, "plan": "pro"}'
SPAN_NAMES = ["invoke json-parse", "invoke text-template", "invoke text-template"]
SPAN_NAMES += ["node greet", "node parse", "node upsell", "run welcome"]


def test_the_console_exporter_writes_each_span_of_a_run_to_stderr_leaving_stdout_to_the_result(
    symphony: Callable[..., Symphony],
) -> None:
    result = symphony().run(
        "--set", "components.telemetry.options.exporter=console", "run", WELCOME, "--input", USER, "--json"
    )
    assert parse_json(result)["state"] == "succeeded"
    (run,) = console_spans(result.stderr)
    assert run.name == "run welcome"
    assert sorted(node.name for node in run.children) == ["node greet", "node parse", "node upsell"]


class _Collector(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP trace receiver: keeps each export request's spans."""

    requests: list[ExportTraceServiceRequest]

    def do_POST(self) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append(request)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[ExportTraceServiceRequest]]]:
    received: list[ExportTraceServiceRequest] = []
    handler = type("Collector", (_Collector,), {"requests": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces", received
    finally:
        server.shutdown()
        thread.join()


def test_the_otlp_exporter_sends_every_span_of_a_run_to_the_collector_before_the_command_exits(
    symphony: Callable[..., Symphony], collector: tuple[str, list[ExportTraceServiceRequest]]
) -> None:
    endpoint, received = collector
    result = symphony().run(
        "--set",
        "components.telemetry.options.exporter=otlp",
        "--set",
        f"components.telemetry.options.otlp_endpoint={endpoint}",
        "run",
        WELCOME,
        "--input",
        USER,
        "--json",
    )
    assert parse_json(result)["state"] == "succeeded"
    spans = [
        span
        for request in received
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    assert sorted(span.name for span in spans) == SPAN_NAMES
    resource = received[0].resource_spans[0].resource
    assert {a.key: a.value.string_value for a in resource.attributes}["service.name"] == "symphony"


NOTHING_SET_UP = """
import json, sys
from symphony.host.cli import main

try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(name for name in sys.modules if name.startswith("opentelemetry"))), file=sys.stderr)
"""


def test_by_default_nothing_is_traced_and_neither_opentelemetry_nor_its_sdk_is_imported(
    symphony: Callable[..., Symphony],
) -> None:
    result = symphony().python(NOTHING_SET_UP, "run", WELCOME, "--input", USER, "--json")
    assert json.loads(result.stdout)["state"] == "succeeded"
    assert json.loads(result.stderr.strip().splitlines()[-1]) == []


def test_an_unknown_exporter_is_refused_naming_the_setting(symphony: Callable[..., Symphony]) -> None:
    result = symphony().run("--set", "components.telemetry.options.exporter=zipkin", "run", WELCOME, "--input", USER)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "`components.telemetry.options.exporter` = 'zipkin'" in result.stderr


WITHOUT_OTLP = """
import sys
sys.modules["opentelemetry.exporter.otlp.proto.http.trace_exporter"] = None  # as if the extra were not installed
from symphony.host.cli import main
main(sys.argv[1:])
"""
OTLP = ("--set", "components.telemetry.options.exporter=otlp")


def test_otlp_without_its_extra_is_a_warning_saying_what_to_install_and_the_run_goes_on(
    symphony: Callable[..., Symphony],
) -> None:
    result = symphony().python(WITHOUT_OTLP, *OTLP, "run", WELCOME, "--input", USER, "--json")
    assert parse_json(result)["state"] == "succeeded"
    (warning,) = result.stderr.strip().splitlines()
    assert warning.startswith("symphony: WARNING: tracing is off:")
    assert "pip install 'symphony-builtins[otlp]'" in warning


def test_doctor_reports_an_exporter_that_could_not_be_set_up(symphony: Callable[..., Symphony]) -> None:
    result = symphony().python(WITHOUT_OTLP, *OTLP, "doctor", "--json")
    check = json.loads(result.stdout)["checks"]["telemetry"]
    assert check["status"] == "failed" and "symphony-builtins[otlp]" in check["message"]
