"""Building Python guests with componentize-py, and the sample distributions' packaging."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import msgspec
import pytest

from symphony.hookspecs import MANIFEST_FILE, Manifest
from symphony.sandbox.wasm import ComponentBuildError, WasmRuntime, build_python_component

from .conftest import CORE_SAMPLE, OPERATOR_DIR, OPERATOR_GUEST, AllowList, user_cache


def test_a_missing_app_module_is_reported_before_running_componentize_py(tmp_path: Path) -> None:
    with pytest.raises(ComponentBuildError, match="no module 'absent' in"):
        build_python_component(tmp_path, "absent", tmp_path / "cache")


@pytest.mark.slow
def test_componentize_py_errors_come_back_with_its_output(tmp_path: Path) -> None:
    (tmp_path / "broken_guest.py").write_text("import wit_world\nclass WitWorld(wit_world.WitWorld):\n    pass\n" + "(")
    with pytest.raises(ComponentBuildError, match="componentize-py failed to build 'broken_guest'"):
        build_python_component(tmp_path, "broken_guest", tmp_path / "cache")


@pytest.mark.slow
def test_an_unchanged_guest_is_not_rebuilt(operator_component: Path) -> None:
    built = operator_component.stat().st_mtime_ns
    again = build_python_component(OPERATOR_GUEST, "notes_operator", user_cache("wasm-build"))
    assert again == operator_component
    assert again.stat().st_mtime_ns == built


@pytest.mark.slow
def test_a_changed_guest_gets_a_new_component(tmp_path: Path) -> None:
    source = (OPERATOR_GUEST / "notes_operator.py").read_text()
    guest = tmp_path / "guest"
    guest.mkdir()
    (guest / "notes_operator.py").write_text(source)
    first = build_python_component(guest, "notes_operator", user_cache("wasm-build"))
    (guest / "notes_operator.py").write_text(source.replace("this operator offers", "this changed operator offers"))
    second = build_python_component(guest, "notes_operator", user_cache("wasm-build"))
    assert first != second


def _manifest(package_dir: Path) -> Manifest:
    return msgspec.convert(tomllib.loads((package_dir / MANIFEST_FILE).read_text()), Manifest)


def test_the_sample_manifests_decode_as_wasm_operators() -> None:
    operator = _manifest(OPERATOR_DIR / "src" / "symphony_sample_wasm_operator")
    core = _manifest(CORE_SAMPLE)
    assert (operator.runtime.kind, operator.runtime.entry) == ("wasm", "notes_operator.wasm")
    assert operator.capabilities.file_access == ("read:data",)
    assert (core.runtime.kind, core.runtime.entry) == ("wasm", "stats.wat")
    assert (CORE_SAMPLE / core.runtime.entry).is_file()


@pytest.mark.slow
def test_the_operator_wheel_contains_the_built_component(tmp_path: Path, operator_component: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q", "-w", str(tmp_path),
         str(OPERATOR_DIR)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("symphony_sample_wasm_operator-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert "symphony_sample_wasm_operator/symphony-extension.toml" in names
        assert "symphony_sample_wasm_operator/guest/notes_operator.py" in names
        component = archive.read("symphony_sample_wasm_operator/notes_operator.wasm")
    assert component == operator_component.read_bytes()
    with WasmRuntime(user_cache("wasm-compiled-tests")) as rt:
        assert rt.load(component, name="from-wheel", permissions=AllowList()).invoke("echo", 7) == 7


@pytest.mark.slow
def test_the_sdk_wheel_ships_the_wit_world(tmp_path: Path) -> None:
    hookspecs = OPERATOR_DIR.parents[1] / "hookspecs"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q", "-w", str(tmp_path),
         str(hookspecs)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("symphony_hookspecs-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert "symphony/hookspecs/wit/symphony-extension.wit" in archive.namelist()
