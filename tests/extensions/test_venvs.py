"""Subprocess extensions' own virtual environments, built by real pip from local wheels.

Two extensions need conflicting versions of one library (``symphony-venv-lib`` 1.0 and
2.0, built into wheels from ``tests/distributions/venv-lib-*`` at session start); a third
asks for a version that does not exist.  Environments built by the end-to-end tests
live in one session cache, so each is built once per session.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from symphony.hookspecs import ConfigurationError, ExtensionError
from symphony.host.extensions import _venvs as venvs
from symphony.host.extensions._venvs import (
    DIRECTORY,
    MARKER,
    Environment,
    ensure_environment,
    environment_key,
    pip_args_from,
)

from .e2e import serve
from .helpers import manifest_text, write_extension

if TYPE_CHECKING:
    from tests.conftest import Installer, Symphony

DISTRIBUTIONS = Path(__file__).resolve().parents[1] / "distributions"
PIP_ARGS_ENV = "SYMPHONY_COMPONENTS__EXTENSIONS__OPTIONS__PIP_ARGS"


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of wheels: symphony-venv-lib 1.0 and 2.0 and the hostile symphony-pth-hook, built with real pip."""
    out = tmp_path_factory.mktemp("venv-wheels")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "--quiet"]
    # One call each: pip refuses two versions of one name at once.
    for source in ("venv-lib-1", "venv-lib-2", "venv-pth-hook"):
        result = subprocess.run(
            [*command, "--wheel-dir", str(out), str(DISTRIBUTIONS / source)],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="session")
def pip_args(wheels: Path) -> tuple[str, ...]:
    return ("--no-index", "--find-links", str(wheels))


@pytest.fixture(scope="session")
def venv_site(installer: Installer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return installer.install(tmp_path_factory.mktemp("venv-site"), "ext-venv-a", "ext-venv-b", "ext-venv-missing")


@pytest.fixture(scope="session")
def shadowed_site(installer: Installer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ext-venv-a (needs 1.0) installed beside symphony-venv-lib 2.0, which its worker can also import."""
    return installer.install(tmp_path_factory.mktemp("venv-shadowed"), "ext-venv-a", "venv-lib-2")


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache directory shared by the end-to-end tests, so each environment is built once."""
    return tmp_path_factory.mktemp("venv-cache")


@pytest.fixture
def ext(venv_site: Path, session_cache: Path, wheels: Path, symphony: Callable[..., Symphony]) -> Symphony:
    return symphony(
        venv_site, SYMPHONY_CACHE_DIR=str(session_cache), **{PIP_ARGS_ENV: f"--no-index --find-links {wheels}"}
    )


def environments(cache: Path) -> list[Path]:
    """The complete-looking environment directories under ``cache`` (no hidden build directories)."""
    root = cache / DIRECTORY
    return (
        sorted(path for path in root.iterdir() if path.is_dir() and not path.name.startswith("."))
        if root.exists()
        else []
    )


def leftovers(cache: Path) -> list[str]:
    return sorted(path.name for path in (cache / DIRECTORY).iterdir() if path.name.startswith("."))


def build_id(environment: Path) -> str:
    return str(json.loads((environment / MARKER).read_text())["build_id"])


def results(ext: Symphony, plan: list[tuple[str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Each invocation's result in one host, failing with the error if one failed."""
    served = serve(ext, plan)
    failed = [entry for entry in served.results if "result" not in entry]
    assert not failed, f"{failed}\n{served.log[-3000:]}"
    return [entry["result"] for entry in served.results]


def imported_version(environment: Environment) -> str:
    """What the environment's own interpreter imports as symphony_venv_lib."""
    code = "import symphony_venv_lib; print(symphony_venv_lib.VERSION)"
    result = subprocess.run([str(environment.python), "-I", "-c", code], capture_output=True, text=True, check=True)
    return result.stdout.strip()


# --- keys and settings ---------------------------------------------------------------------


def test_the_key_ignores_the_order_and_repetition_of_requirements() -> None:
    assert environment_key(["b==1", "a>=2", "b==1"]) == environment_key([" a>=2", "b==1 "])


def test_a_different_requirement_set_gets_a_different_key() -> None:
    assert environment_key(["symphony-venv-lib==1.0"]) != environment_key(["symphony-venv-lib==2.0"])


@pytest.mark.parametrize(
    "raw",
    [
        ["--no-index", "--find-links", "/w heels"],
        '["--no-index", "--find-links", "/w heels"]',
        "--no-index --find-links '/w heels'",
    ],
    ids=["list", "json-array", "shell-words"],
)
def test_pip_args_are_a_list_a_json_array_or_shell_words(raw: Any) -> None:
    assert pip_args_from({"pip_args": raw}) == ("--no-index", "--find-links", "/w heels")


def test_pip_args_of_another_type_are_an_error_naming_the_setting() -> None:
    with pytest.raises(ConfigurationError, match=r"components\.extensions\.options\.pip_args: expected a list"):
        pip_args_from({"pip_args": 3})


def test_a_cache_directory_that_cannot_hold_environments_is_an_extension_error(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "cache"
    not_a_directory.write_text("")
    with pytest.raises(ExtensionError, match=r"Cannot build the Python environment of extension 'ext-x' in .*cache"):
        ensure_environment(["symphony-venv-lib==1.0"], cache_dir=not_a_directory, extension="ext-x")


# --- building ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_an_environment_holds_its_requirements_and_is_reused(tmp_path: Path, pip_args: tuple[str, ...]) -> None:
    first = ensure_environment(["symphony-venv-lib==1.0"], cache_dir=tmp_path, extension="x", pip_args=pip_args)
    again = ensure_environment(["symphony-venv-lib==1.0"], cache_dir=tmp_path, extension="y", pip_args=pip_args)
    assert (first.built, again.built) == (True, False)
    assert again.path == first.path == tmp_path / DIRECTORY / environment_key(["symphony-venv-lib==1.0"])
    assert imported_version(again) == "1.0"
    assert any((Path(site) / "symphony_venv_lib").is_dir() for site in again.site_packages)


@pytest.mark.slow
def test_a_host_without_pip_gives_the_environment_its_own(
    tmp_path: Path, pip_args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(venvs, "_host_has_pip", lambda: False)
    environment = ensure_environment(["symphony-venv-lib==2.0"], cache_dir=tmp_path, extension="x", pip_args=pip_args)
    assert imported_version(environment) == "2.0"
    assert any((Path(site) / "pip").is_dir() for site in environment.site_packages)


@pytest.mark.slow
def test_concurrent_builders_of_one_environment_build_it_once(tmp_path: Path, pip_args: tuple[str, ...]) -> None:
    results: list[Environment] = []

    def build() -> None:
        results.append(
            ensure_environment(["symphony-venv-lib==2.0"], cache_dir=tmp_path, extension="x", pip_args=pip_args)
        )

    threads = [threading.Thread(target=build) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(result.built for result in results) == [False, False, True]
    assert len({result.path for result in results}) == 1
    assert environments(tmp_path) == [results[0].path] and leftovers(tmp_path) == []


@pytest.mark.slow
def test_what_a_crashed_build_left_behind_is_discarded_not_used(tmp_path: Path, pip_args: tuple[str, ...]) -> None:
    key = environment_key(["symphony-venv-lib==1.0"])
    root = tmp_path / DIRECTORY
    (root / f".{key}.building-crashed" / "lib").mkdir(parents=True)
    (root / key / "bin").mkdir(parents=True)  # a directory without the completion marker
    environment = ensure_environment(["symphony-venv-lib==1.0"], cache_dir=tmp_path, extension="x", pip_args=pip_args)
    assert environment.built
    assert (environment.path / MARKER).is_file()
    assert imported_version(environment) == "1.0"
    assert leftovers(tmp_path) == []


@pytest.mark.slow
def test_a_requirement_that_cannot_be_installed_is_an_error_naming_it(
    tmp_path: Path, pip_args: tuple[str, ...]
) -> None:
    with pytest.raises(ExtensionError) as raised:
        ensure_environment(["symphony-venv-lib==3.0"], cache_dir=tmp_path, extension="ext-x", pip_args=pip_args)
    message = str(raised.value)
    assert "Cannot build the Python environment of extension 'ext-x'" in message
    assert "pip could not install 'symphony-venv-lib==3.0'" in message
    assert "No matching distribution found for symphony-venv-lib==3.0" in message  # pip's own last lines
    assert "python_dependencies" in message and "pip_args" in message
    assert environments(tmp_path) == [] and leftovers(tmp_path) == []


# --- what may be installed, and how ------------------------------------------------------------

ESCAPE = DISTRIBUTIONS / "build-escape"


@pytest.fixture
def escape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Where the hostile build backend of ``build-escape`` writes its marker, and the secret it reads."""
    marker, secret = tmp_path / "outside" / "marker", tmp_path / "outside" / "secret"
    secret.parent.mkdir()
    secret.write_text("id_rsa")
    monkeypatch.setenv("SYMPHONY_TEST_ESCAPE_MARKER", str(marker))
    monkeypatch.setenv("SYMPHONY_TEST_ESCAPE_SECRET", str(secret))
    return marker, secret


@pytest.mark.parametrize("source_builds", [False, True], ids=["wheels-only", "source-builds"])
def test_a_direct_reference_is_refused_at_install_and_its_build_backend_never_runs(
    tmp_path: Path, escape: tuple[Path, Path], source_builds: bool
) -> None:
    marker, _ = escape
    with pytest.raises(ExtensionError) as raised:
        ensure_environment(
            [f"evil @ {ESCAPE.as_uri()}"],
            cache_dir=tmp_path / "cache",
            extension="ext-evil",
            pip_args=("--no-index",),
            source_builds=source_builds,
        )
    assert str(raised.value).startswith(
        f"Extension 'ext-evil': [runtime] python_dependencies names the direct reference 'evil @ {ESCAPE.as_uri()}':"
        " only packages from the index are installed; expected a requirement from the package index"
    )
    assert "Nothing was installed." in str(raised.value)
    assert not marker.exists(), "the direct reference's build backend ran on the host"
    assert not (tmp_path / "cache" / DIRECTORY).exists()


@pytest.mark.parametrize("option", ["--index-url=https://evil.example/simple", "-e /tmp/evilpkg", "-r /tmp/reqs.txt"])
def test_a_pip_option_among_the_requirements_is_refused_at_install(tmp_path: Path, option: str) -> None:
    with pytest.raises(ExtensionError, match=r"python_dependencies names the pip option '-"):
        ensure_environment(["symphony-venv-lib==1.0", option], cache_dir=tmp_path, extension="ext-evil")
    assert not (tmp_path / DIRECTORY).exists()


@pytest.mark.slow
def test_pip_is_given_the_requirement_as_checked(tmp_path: Path, pip_args: tuple[str, ...]) -> None:
    environment = ensure_environment(
        ["  SYMPHONY-venv-lib ==1.0 "], cache_dir=tmp_path, extension="x", pip_args=pip_args
    )
    assert environment.requirements == ("SYMPHONY-venv-lib==1.0",)
    assert imported_version(environment) == "1.0"


@pytest.mark.slow
def test_the_installed_wheels_are_pinned_by_their_hashes(
    tmp_path: Path, pip_args: tuple[str, ...], wheels: Path
) -> None:
    environment = ensure_environment(["symphony-venv-lib==2.0"], cache_dir=tmp_path, extension="x", pip_args=pip_args)
    (wheel,) = (path for path in wheels.iterdir() if "-2.0-" in path.name)
    recorded = json.loads((environment.path / MARKER).read_text())["sha256"]
    assert recorded == {wheel.name: hashlib.sha256(wheel.read_bytes()).hexdigest()}
    assert not (environment.path / ".wheels").exists() and not (environment.path / ".tmp").exists()


@pytest.mark.slow
def test_requirements_whose_markers_exclude_this_python_give_an_empty_environment(
    tmp_path: Path, pip_args: tuple[str, ...]
) -> None:
    environment = ensure_environment(
        ["symphony-venv-lib==1.0; python_version < '3'"], cache_dir=tmp_path, extension="x", pip_args=pip_args
    )
    assert json.loads((environment.path / MARKER).read_text())["sha256"] == {}
    assert not any((Path(site) / "symphony_venv_lib").exists() for site in environment.site_packages)


@pytest.mark.slow
def test_a_wheels_pth_file_does_not_run_while_the_environment_is_built(
    tmp_path: Path, pip_args: tuple[str, ...], escape: tuple[Path, Path]
) -> None:
    marker, _ = escape
    environment = ensure_environment(
        ["symphony-pth-hook==1.0"], cache_dir=tmp_path / "cache", extension="x", pip_args=pip_args
    )
    assert any((Path(site) / "symphony_pth_hook.pth").is_file() for site in environment.site_packages)
    assert not marker.exists(), "the .pth file of an installed wheel ran on the host"


@pytest.mark.slow
def test_a_source_build_runs_confined_and_cannot_write_or_read_outside_its_environment(
    tmp_path: Path, escape: tuple[Path, Path]
) -> None:
    marker, secret = escape
    sources = tmp_path / "sources"
    sources.mkdir()
    with tarfile.open(sources / "symphony_test_build_escape-1.0.tar.gz", "w:gz") as sdist:
        for name in ("pyproject.toml", "escape_backend.py"):
            sdist.add(ESCAPE / name, f"symphony_test_build_escape-1.0/{name}")
    with pytest.raises(ExtensionError) as raised:
        ensure_environment(
            ["symphony-test-build-escape==1.0"],
            cache_dir=tmp_path / "cache",
            extension="ext-x",
            pip_args=("--no-index", "--find-links", str(sources)),
            source_builds=True,
        )
    message = str(raised.value)
    assert f"escape attempt: write {marker}: denied (PermissionError); read {secret}: denied (PermissionError)" in (
        message.replace("\n  | ", "")
    ), message
    assert not marker.exists()
    assert environments(tmp_path / "cache") == []


@pytest.mark.slow
def test_an_installed_extension_needing_a_direct_reference_is_invalid_and_never_built(
    tmp_path: Path, escape: tuple[Path, Path], symphony: Callable[..., Symphony]
) -> None:
    marker, _ = escape
    manifest = manifest_text("ext-evil", "ext_evil").replace(
        'kind = "python"', f'kind = "subprocess"\npython_dependencies = ["evil @ {ESCAPE.as_uri()}"]'
    )
    package = write_extension(tmp_path / "site", "ext-evil", manifest)
    ext = symphony(tmp_path / "site", SYMPHONY_TEST_ESCAPE_MARKER=str(marker))
    expected = "runtime.python_dependencies[0]: expected a requirement from the package index such as 'httpx>=0.27'"
    (listed,) = ext.json("ext", "list")
    assert listed["status"] == "invalid" and listed["problems"][0].startswith(expected)
    report = ext.json("ext", "validate", str(package), returncodes=(1,))
    assert [problem["path"] for problem in report["manifests"][0]["problems"]] == ["runtime.python_dependencies[0]"]
    invoked = ext.run("ext", "invoke", "ext-evil", "run")
    assert invoked.returncode == 1 and "Extension 'ext-evil' has an invalid manifest" in invoked.stderr
    assert not marker.exists(), "the direct reference's build backend ran on the host"
    assert not (ext.cache_dir / DIRECTORY).exists()


# --- in the host --------------------------------------------------------------------------------


@pytest.mark.slow
def test_two_extensions_needing_conflicting_versions_run_side_by_side(ext: Symphony, session_cache: Path) -> None:
    a, b, a_again = results(
        ext, [("ext-venv-a", "version", {}), ("ext-venv-b", "version", {}), ("ext-venv-a", "version", {})]
    )
    assert (a["version"], b["version"], a_again["version"]) == ("1.0", "2.0", "1.0")
    root = session_cache / DIRECTORY
    assert Path(a["library"]).is_relative_to(root / environment_key(["symphony-venv-lib==1.0"]))
    assert Path(b["library"]).is_relative_to(root / environment_key(["symphony-venv-lib==2.0"]))
    assert Path(a["python"]).is_relative_to(root)


@pytest.mark.slow
def test_a_confined_worker_reads_its_own_environment_but_not_another(ext: Symphony) -> None:
    own, other = (
        entry["library"] for entry in results(ext, [("ext-venv-a", "version", {}), ("ext-venv-b", "version", {})])
    )
    reads = results(ext, [("ext-venv-a", "read", {"path": own}), ("ext-venv-a", "read", {"path": other})])
    assert reads[0] == {"readable": True, "error": ""}
    assert reads[1]["readable"] is False
    assert "Permission denied" in reads[1]["error"]


@pytest.mark.slow
def test_the_environment_comes_before_other_versions_the_worker_could_import(
    shadowed_site: Path, session_cache: Path, wheels: Path, symphony: Callable[..., Symphony]
) -> None:
    shadowed = symphony(
        shadowed_site, SYMPHONY_CACHE_DIR=str(session_cache), **{PIP_ARGS_ENV: f"--no-index --find-links {wheels}"}
    )
    (answer,) = results(shadowed, [("ext-venv-a", "version", {})])
    assert answer["version"] == "1.0"
    assert (shadowed_site / "symphony_venv_lib" / "__init__.py").read_text().count('"2.0"') == 1


@pytest.mark.slow
def test_the_second_start_reuses_the_built_environment(
    venv_site: Path, wheels: Path, symphony: Callable[..., Symphony]
) -> None:
    fresh = symphony(venv_site, **{PIP_ARGS_ENV: f"--no-index --find-links {wheels}"})
    first = fresh.json("ext", "invoke", "ext-venv-a", "version")["result"]
    (environment,) = environments(fresh.cache_dir)
    built = (build_id(environment), environment.stat().st_ino)
    second = fresh.json("ext", "invoke", "ext-venv-a", "version")["result"]
    assert first == second and second["version"] == "1.0"
    assert environments(fresh.cache_dir) == [environment]
    assert (build_id(environment), environment.stat().st_ino) == built


@pytest.mark.slow
def test_an_uninstallable_requirement_fails_the_invocation_with_pips_reason(ext: Symphony) -> None:
    result = ext.run("ext", "invoke", "ext-venv-missing", "version")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "extension 'ext-venv-missing'" in result.stderr
    assert "'symphony-venv-lib==3.0'" in result.stderr
    assert "No matching distribution found for symphony-venv-lib==3.0" in result.stderr
