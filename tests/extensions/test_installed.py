"""Real pip-installed extension distributions, through the real ``symphony`` command."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # pytest imports conftest itself; annotations only need the names
    from tests.conftest import Installer, Symphony

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

SECRET = "sk-live-0f9e8d7c"


@pytest.fixture
def ext(installer: Installer, symphony: Callable[..., Symphony], tmp_path: Path) -> Symphony:
    """``symphony`` over the shared site of extension distributions; importing ext_marker would leave a marker."""
    return symphony(installer.site("extensions"), EXT_MARKER_FILE=str(tmp_path / "imported"))


def by_name(listing: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in listing}


def test_list_shows_every_installed_extension_without_importing_any(ext: Symphony, tmp_path: Path) -> None:
    listing = by_name(ext.json("ext", "list"))
    assert sorted(listing) == [
        "ext-invalid",
        "ext-marker",
        "ext-nested",
        "ext-no-manifest",
        "ext-secret",
        "sample-operator",
    ]
    marker = listing["ext-marker"]
    assert (marker["version"], marker["type"], marker["runtime"]) == ("2.3.4", "operator", "subprocess")
    assert marker["distribution"] == "symphony-test-ext-marker"
    assert marker["contributes"] == {"instruments": [], "operators": ["marker-echo"]}
    assert not (tmp_path / "imported").exists(), "listing imported the extension's package"


def test_manifest_of_a_dotted_package_is_found_without_importing_its_parents(ext: Symphony) -> None:
    nested = by_name(ext.json("ext", "list"))["ext-nested"]
    assert nested["status"] == "ok"
    assert nested["manifest_path"].endswith("ext_nested_pkg/extension/symphony-extension.toml")
    assert nested["contributes"]["instruments"] == ["nested-echo"]


def test_invalid_and_missing_manifests_are_listed_with_their_problems(ext: Symphony) -> None:
    listing = by_name(ext.json("ext", "list"))
    assert listing["ext-invalid"]["status"] == "invalid"
    assert [p.split(":")[0] for p in listing["ext-invalid"]["problems"]] == [
        "resources.colour",
        "resources.memory_limit",
    ]
    assert "symphony-extension.toml inside package 'ext_no_manifest'" in listing["ext-no-manifest"]["problems"][0]


def test_second_listing_reuses_the_index(ext: Symphony) -> None:
    code = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        from symphony.host.extensions import list_extensions
        cache = Path(sys.argv[1])
        first, second = list_extensions(cache), list_extensions(cache)
        print(json.dumps([first.parsed, second.parsed, second.reused]))
        """
    )
    result = ext.python(code, str(ext.cache_dir / "probe"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [6, 0, 6]


def test_show_prints_the_manifest_and_redacts_the_secret(ext: Symphony) -> None:
    env = {"SYMPHONY_SECRET__EXT_SECRET__API_KEY": SECRET}
    details = ext.json("ext", "show", "ext-secret", env=env)
    assert details["manifest"]["extension"]["description"] == "An instrument that needs an API key."
    assert details["manifest"]["configuration"]["api_key"]["secret"] is True
    assert details["configuration"] == {"api_key": "***", "temperature": 0.7}
    human = ext.run("ext", "show", "ext-secret", env=env)
    assert human.returncode == 0, human.stderr
    assert 'api_key = "***"' in human.stdout
    for output in (json.dumps(details), human.stdout, human.stderr):
        assert SECRET not in output


def test_show_reports_a_configuration_error_naming_the_field_and_where_to_set_it(ext: Symphony) -> None:
    details = ext.json("ext", "show", "ext-secret", env={"SYMPHONY_EXTENSIONS__CONFIG__EXT_SECRET__TEMPERATURE": "9"})
    assert details["configuration"] is None
    assert details["configuration_error"] == (
        "Extension 'ext-secret' is not configured correctly:\n"
        "  `api_key`: required (string) but not given; set SYMPHONY_SECRET__EXT_SECRET__API_KEY"
        " or add api_key under [ext-secret] in the secrets file.\n"
        "  `temperature`: expected a number >= 0 and <= 2, got integer 9;"
        " set it in [extensions.config.ext-secret] of symphony.toml."
    )


def test_a_readable_secrets_file_is_refused_and_its_secret_not_shown(ext: Symphony, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'[ext-secret]\napi_key = "{SECRET}"\n', encoding="utf-8")
    secrets.chmod(0o644)
    env = {"SYMPHONY_EXTENSIONS__SECRETS_FILE": str(secrets)}
    details = ext.json("ext", "show", "ext-secret", env=env)
    assert f"chmod 600 {secrets}" in details["configuration_error"]
    secrets.chmod(0o600)
    assert ext.json("ext", "show", "ext-secret", env=env)["configuration"]["api_key"] == "***"


def test_show_of_an_unknown_extension_is_one_line_and_exit_1(ext: Symphony) -> None:
    result = ext.run("ext", "show", "no-such-ext")
    assert result.returncode == 1
    assert (
        result.stderr.strip() == "Error: No extension named 'no-such-ext' is installed; `symphony ext list` shows them."
    )


def test_validate_an_installed_extensions_source_tree_without_importing_it(ext: Symphony, tmp_path: Path) -> None:
    result = ext.run("ext", "validate", str(REPO / "tests/distributions/ext-marker"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("symphony-extension.toml: valid (ext-marker)")
    assert not (tmp_path / "imported").exists()


def test_validate_prints_every_problem_and_exits_1(ext: Symphony) -> None:
    result = ext.run("ext", "validate", str(REPO / "tests/distributions/ext-invalid"))
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert lines[0].endswith("symphony-extension.toml: 2 problem(s)")
    assert lines[1].startswith("  resources.colour: expected one of the keys")
    assert lines[2].startswith("  resources.memory_limit: expected a size such as '2GB' or '512MiB'")
    report = ext.json("ext", "validate", str(REPO / "tests/distributions/ext-invalid"), returncodes=(1,))
    assert report["valid"] is False
    assert [p["path"] for p in report["manifests"][0]["problems"]] == ["resources.colour", "resources.memory_limit"]


def test_pre_validation_port_lists_every_problem(ext: Symphony) -> None:
    code = textwrap.dedent(
        """
        import sys
        from symphony.hookspecs import PreValidationError
        from symphony.host import Host
        port = Host().load().port("pre_validation")
        port.validate_extension_manifest(sys.argv[1] + "/ext-marker/src/ext_marker")
        try:
            port.validate_extension_manifest(sys.argv[1] + "/ext-invalid/src/ext_invalid/symphony-extension.toml")
        except PreValidationError as error:
            print(error)
        """
    )
    result = ext.python(code, str(REPO / "tests/distributions"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].endswith("symphony-extension.toml has 2 problem(s):")
    assert lines[1].startswith("  resources.colour:")
    assert lines[2].startswith("  resources.memory_limit:")


def test_contributed_operator_is_a_typed_workflow_node(ext: Symphony) -> None:
    workflow = ext.home / "stats.toml"
    ext.home.mkdir(parents=True, exist_ok=True)
    workflow.write_text(
        textwrap.dedent(
            """
            schema_version = 1
            id = "stats"
            name = "Stats"

            [inputs]
            doc = { type = "string" }

            [outputs]
            words = "count.words"

            [nodes.count]
            kind = "operator"
            uses = "text-stats"

            [[edges]]
            kind = "data"
            from = "inputs.doc"
            to = "count.{port}"
            """
        ),
        encoding="utf-8",
    )
    text = workflow.read_text()
    workflow.write_text(text.replace("{port}", "text"))
    ext.run("ext", "grant", "sample-operator", "--trust")  # it runs in-process: validation requires trust
    assert ext.run("workflow", "validate", str(workflow)).returncode == 0
    workflow.write_text(text.replace("{port}", "body"))
    result = ext.run("workflow", "validate", str(workflow))
    assert result.returncode == 1
    assert "has no such input (its inputs: text)" in result.stdout


def test_sample_operator_runs_with_its_resolved_configuration(ext: Symphony) -> None:
    ext.run("ext", "grant", "sample-operator", "--trust")
    answer = ext.json(
        "--set", "extensions.config.sample-operator.top=2", "ext", "invoke", "sample-operator", "text-stats",
        "--input", "text=b a b\nc a b",
    )  # fmt: skip
    assert answer["result"] == {"lines": 2, "words": 6, "top_words": ["b", "a"]}
