"""``symphony ext new``: a project per runtime that validates as generated, and clear refusals.

Run through the real ``symphony`` command (the registry plugin's ``ext new``), as a publisher would.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from symphony.registry.wheels import read_wheel

SYMPHONY = Path(sys.executable).parent / "symphony"

if TYPE_CHECKING:
    from tests.conftest import Symphony


RUNTIMES = ("subprocess", "wasm", "python")
PUBLISHER = 'Acme "Labs" <&> \\ Co'


@pytest.fixture
def cli(symphony: Callable[..., Symphony]) -> Symphony:
    return symphony()


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One ``word-count`` project per runtime, made once by the real command."""
    from tests.conftest import Symphony

    home = tmp_path_factory.mktemp("scaffold")
    cli = Symphony(sites=(), home=home / "home")
    made = {}
    for runtime in RUNTIMES:
        project = home / runtime / "word-count"
        result = cli.run("ext", "new", "word-count", str(project), "--runtime", runtime, "--publisher", PUBLISHER)
        assert result.returncode == 0, result.stderr
        made[runtime] = project
    return made


def manifest(project: Path) -> dict[str, Any]:
    (path,) = project.glob("src/*/symphony-extension.toml")
    return tomllib.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_ext_new_makes_a_project_whose_manifest_validates(
    cli: Symphony, projects: dict[str, Path], runtime: str
) -> None:
    report = cli.json("ext", "validate", str(projects[runtime]))
    assert report["valid"] is True, report
    assert [m["name"] for m in report["manifests"]] == ["word-count"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_the_manifest_names_the_runtime_and_the_publisher(projects: dict[str, Path], runtime: str) -> None:
    document = manifest(projects[runtime])
    assert document["runtime"]["kind"] == runtime
    assert document["extension"]["publisher"] == PUBLISHER


def test_the_project_has_a_pyproject_handler_tests_and_readme(projects: dict[str, Path]) -> None:
    project = projects["subprocess"]
    files = sorted(p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file())
    assert files == [
        ".gitignore",
        "README.md",
        "pyproject.toml",
        "src/word_count/__init__.py",
        "src/word_count/handler.py",
        "src/word_count/symphony-extension.toml",
        "tests/test_word_count.py",
    ]
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["entry-points"]["symphony.extensions"] == {"word-count": "word_count"}


def test_the_wasm_project_builds_its_component_from_a_python_guest(projects: dict[str, Path]) -> None:
    project = projects["wasm"]
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["hooks"]["custom"] == {
        "path": "hatch_build.py",
        "package": "word_count",
        "module": "word_count_guest",
    }
    assert (project / "src" / "word_count" / "guest" / "word_count_guest.py").is_file()
    assert manifest(project)["runtime"] == {"kind": "wasm", "entry": "word_count_guest.wasm"}


def test_the_generated_wheel_carries_the_manifest_the_index_reads(projects: dict[str, Path], tmp_path: Path) -> None:
    project = projects["subprocess"]
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "--quiet"]
    dist = tmp_path / "dist"
    built = subprocess.run([*command, "-w", str(dist), str(project)], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("*.whl")
    info = read_wheel(wheel)
    assert (info.distribution, info.extension, info.publisher) == ("word-count", "word-count", PUBLISHER)


@pytest.mark.parametrize("name", ["Word_Count", "a" * 65])
def test_ext_new_refuses_a_name_that_is_not_an_extension_name(cli: Symphony, tmp_path: Path, name: str) -> None:
    result = cli.run("ext", "new", name, str(tmp_path / "project"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"Error: {name!r} is not an extension name: use lowercase letters and digits" in result.stderr
    assert not (tmp_path / "project").exists()


def test_ext_new_refuses_a_directory_that_is_not_empty_and_leaves_it_alone(cli: Symphony, tmp_path: Path) -> None:
    project = tmp_path / "word-count"
    project.mkdir()
    (project / "notes.txt").write_text("mine\n", encoding="utf-8")
    result = cli.run("ext", "new", "word-count", str(project))
    assert result.returncode == 1
    assert f"Error: {project} is not empty; choose a new or empty DIR" in result.stderr
    assert sorted(p.name for p in project.iterdir()) == ["notes.txt"]


def test_ext_new_fills_an_existing_empty_directory(cli: Symphony, tmp_path: Path) -> None:
    project = tmp_path / "empty"
    project.mkdir()
    assert cli.run("ext", "new", "word-count", str(project), "--publisher", "Acme Labs").returncode == 0
    assert (project / "src" / "word_count" / "symphony-extension.toml").is_file()


def test_ext_new_defaults_to_a_directory_named_after_the_extension(cli: Symphony) -> None:
    result = cli.run("ext", "new", "word-count", "--publisher", "Acme Labs")
    assert result.returncode == 0, result.stderr
    assert (cli.home / "word-count" / "pyproject.toml").is_file()


def test_the_files_it_writes_have_the_modes_the_users_umask_gives(cli: Symphony, tmp_path: Path) -> None:
    project = tmp_path / "word-count"
    command = [str(SYMPHONY), "ext", "new", "word-count", str(project), "--publisher", "Acme Labs"]
    result = subprocess.run(command, env=cli.env(), umask=0o077, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    modes = {path.stat().st_mode & 0o777 for path in [project, *project.rglob("*")]}
    assert modes == {0o700, 0o600}


def test_a_publisher_and_description_with_escape_like_text_are_written_verbatim(cli: Symphony, tmp_path: Path) -> None:
    publisher, description = 'Acme \\u003c "Labs" \\ Co 😀', 'Counts \\u003e, \\n and ünï "words"'
    project = tmp_path / "word-count"
    result = cli.run("ext", "new", "word-count", str(project), "--publisher", publisher, "--description", description)
    assert result.returncode == 0, result.stderr
    extension = manifest(project)["extension"]
    assert (extension["publisher"], extension["author"], extension["description"]) == (
        publisher,
        publisher,
        description,
    )
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["description"] == description


def test_ext_new_refuses_a_description_of_several_lines_and_writes_nothing(cli: Symphony, tmp_path: Path) -> None:
    project = tmp_path / "word-count"
    result = cli.run("ext", "new", "word-count", str(project), "--publisher", "Acme", "--description", "one\ntwo")
    assert result.returncode == 1
    assert "the description must be one line without control characters" in result.stderr
    assert not project.exists()


def test_ext_new_where_no_directory_can_be_made_says_so_without_a_traceback(cli: Symphony, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("mine")
    result = cli.run("ext", "new", "word-count", str(tmp_path / "a-file" / "project"), "--publisher", "Acme")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"Cannot create word-count in {tmp_path / 'a-file' / 'project'}: Not a directory" in result.stderr
