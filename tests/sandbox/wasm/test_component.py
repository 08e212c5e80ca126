"""The sample Python operator, built with componentize-py, running as a component."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from symphony.sandbox.wasm import Preopen, WasmGuestError, WasmRuntime

from .conftest import AllowList

pytestmark = pytest.mark.slow  # the first session builds the component (about 12 s)

NOTES = "weekly notes\n\nship the wasm runtime\nwrite the docs\n"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "notes.txt").write_text(NOTES)
    return data


def test_summarize_reads_a_file_from_the_granted_directory(
    runtime: WasmRuntime, operator_component: Path, data_dir: Path
) -> None:
    ext = runtime.load(
        operator_component,
        name="sample-wasm-operator",
        permissions=AllowList(),
        preopens=[Preopen.read_only(data_dir, "/data")],
    )
    assert ext.invoke("summarize", {"file": "notes.txt"}) == {
        "file": "notes.txt",
        "title": "Weekly Notes",
        "lines": 4,
        "words": 9,
        "characters": len(NOTES),
    }


def test_echo_round_trips_json(runtime: WasmRuntime, operator_component: Path) -> None:
    ext = runtime.load(operator_component, name="op", permissions=AllowList())
    value = {"text": "héllo", "n": [1, 2.5, None, True]}
    assert ext.invoke("echo", value) == value
    assert ext.invoke_json("echo", '{"a":1}') == '{"a":1}'


def test_guest_error_result_is_a_wasm_guest_error_and_keeps_the_instance(
    runtime: WasmRuntime, operator_component: Path
) -> None:
    ext = runtime.load(operator_component, name="op", permissions=AllowList())
    with pytest.raises(WasmGuestError, match=r"unknown operation 'translate'; this operator offers summarize"):
        ext.invoke("translate", {})
    assert ext.invoke("echo", 1) == 1
    assert (ext.stats.failures, ext.stats.traps, ext.stats.instantiations) == (1, 0, 1)


def test_missing_file_in_the_granted_directory_is_the_operators_error(
    runtime: WasmRuntime, operator_component: Path, data_dir: Path
) -> None:
    ext = runtime.load(
        operator_component, name="op", permissions=AllowList(), preopens=[Preopen.read_only(data_dir, "/data")]
    )
    with pytest.raises(WasmGuestError, match=r"cannot read 'absent\.txt'"):
        ext.invoke("summarize", {"file": "absent.txt"})


def test_operator_without_its_data_directory_cannot_read_it(runtime: WasmRuntime, operator_component: Path) -> None:
    ext = runtime.load(operator_component, name="op", permissions=AllowList())
    with pytest.raises(WasmGuestError, match=r"cannot read 'notes\.txt'"):
        ext.invoke("summarize", {"file": "notes.txt"})


def test_guest_log_lines_reach_the_host_log_under_the_extensions_name(
    runtime: WasmRuntime, operator_component: Path, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ext = runtime.load(
        operator_component, name="notes", permissions=AllowList(), preopens=[Preopen.read_only(data_dir, "/data")]
    )
    with caplog.at_level(logging.INFO, logger="symphony.extensions.notes"):
        ext.invoke("summarize", {"file": "notes.txt"})
    assert [r.getMessage() for r in caplog.records if r.name == "symphony.extensions.notes"] == [
        f"summarized notes.txt ({len(NOTES)} characters)"
    ]
    assert ext.stats.host_calls == 1


def test_two_extensions_in_one_runtime_each_get_their_own_host_calls(
    runtime: WasmRuntime, operator_component: Path, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    preopens = [Preopen.read_only(data_dir, "/data")]
    first = runtime.load(operator_component, name="first", permissions=AllowList(), preopens=preopens)
    second = runtime.load(operator_component, name="second", permissions=AllowList(), preopens=preopens)
    with caplog.at_level(logging.INFO, logger="symphony.extensions"):
        second.invoke("summarize", {"file": "notes.txt"})
        second.invoke("summarize", {"file": "notes.txt"})
        first.invoke("summarize", {"file": "notes.txt"})
    names = [r.name for r in caplog.records if r.name.startswith("symphony.extensions.")]
    assert names == ["symphony.extensions.second", "symphony.extensions.second", "symphony.extensions.first"]
    assert (first.stats.host_calls, second.stats.host_calls) == (1, 2)


def test_stats_count_invocations_and_fuel(runtime: WasmRuntime, operator_component: Path) -> None:
    ext = runtime.load(operator_component, name="op", permissions=AllowList())
    for _ in range(3):
        ext.invoke("echo", "x")
    assert ext.stats.invocations == 3
    assert 0 < ext.stats.last_fuel < ext.limits.fuel
    assert ext.stats.fuel_used >= 3 * min(1, ext.stats.last_fuel)
