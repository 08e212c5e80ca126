"""``symphony ext validate`` in-process (the installed-distribution runs are in test_installed.py)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from symphony.host.cli._app import cli

from .helpers import manifest_text


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_validate_a_valid_manifest_file_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "symphony-extension.toml"
    path.write_text(manifest_text())
    assert run("ext", "validate", str(path)) == (0, f"{path}: valid (demo-ext)\n")


def test_validate_finds_the_manifest_in_a_src_layout_source_tree(tmp_path: Path) -> None:
    package = tmp_path / "src" / "demo_ext"
    package.mkdir(parents=True)
    (package / "symphony-extension.toml").write_text(manifest_text())
    code, output = run("ext", "validate", str(tmp_path))
    assert code == 0, output
    assert output == f"{package}/symphony-extension.toml: valid (demo-ext)\n"


def test_validate_a_directory_without_a_manifest_is_one_line_and_exit_1(tmp_path: Path) -> None:
    code, output = run("ext", "validate", str(tmp_path))
    assert code == 1
    assert output == (
        f"Error: No symphony-extension.toml in {tmp_path} (looked in it, its packages and src/);"
        " give the manifest file itself.\n"
    )


def test_validate_json_lists_every_problem_with_its_parts(tmp_path: Path) -> None:
    path = tmp_path / "symphony-extension.toml"
    path.write_text(manifest_text().replace('"512MiB"', '"huge"').replace("schema_version = 1", "schema_version = 7"))
    code, output = run("ext", "validate", str(path), "--json")
    assert code == 1
    report = json.loads(output)
    assert report["valid"] is False
    problems = report["manifests"][0]["problems"]
    assert [p["path"] for p in problems] == ["schema_version", "resources.memory_limit"]
    assert problems[1] == {
        "path": "resources.memory_limit",
        "expected": "a size such as '2GB' or '512MiB'",
        "found": "string 'huge'",
        "fix": "Units: B, KB, MB, GB, TB (x1000), KiB, MiB, GiB, TiB.",
        "line": None,
        "column": None,
    }


def test_validate_reports_toml_syntax_errors_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "symphony-extension.toml"
    path.write_text("schema_version = 1\n[extension\n")
    code, output = run("ext", "validate", str(path))
    assert code == 1
    assert output.splitlines()[1].startswith("  manifest (line 2, column ")
