"""Every kind of manifest problem, with its exact message, and all of them reported at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from symphony.hookspecs import API_VERSION, Manifest
from symphony.host.extensions import check_manifest, check_manifest_text, load_manifest

from .helpers import manifest_text


def problems(text: str) -> list[str]:
    manifest, found = check_manifest_text(text)
    assert manifest is None, "a manifest with problems must not be returned"
    return [str(p) for p in found]


def changed(old: str, new: str) -> str:
    text = manifest_text()
    assert old in text
    return text.replace(old, new, 1)


def test_a_valid_manifest_has_no_problems_and_is_returned() -> None:
    manifest, found = check_manifest_text(manifest_text())
    assert found == []
    assert isinstance(manifest, Manifest)
    assert manifest.name == "demo-ext"
    assert manifest.dependencies.symphony == "^1.0"
    assert manifest.resources.memory_bytes() == 512 * 1024**2


def test_toml_syntax_error_gives_line_and_column() -> None:
    manifest, found = check_manifest_text('schema_version = 1\n[extension]\nname = "x\n')
    assert manifest is None
    assert found[0].line == 3
    assert found[0].column is not None
    assert str(found[0]).startswith("manifest (line 3, column ")
    assert "expected valid TOML" in str(found[0])
    assert "Correct the TOML syntax at line 3" in str(found[0])


def test_newer_schema_version_says_upgrade_symphony() -> None:
    assert problems(changed("schema_version = 1", "schema_version = 2")) == [
        "schema_version: expected a schema version up to 1, found 2."
        " The extension needs a newer Symphony: upgrade symphony (pip install -U symphony-platform)."
    ]


def test_missing_schema_version_is_reported() -> None:
    assert problems(changed("schema_version = 1", "")) == [
        "schema_version: expected a key, found nothing. Add schema_version = 1 at the top of the manifest."
    ]


def test_unknown_top_level_key_is_an_error_with_its_path() -> None:
    found = problems(changed("schema_version = 1", "schema_version = 1\ncolour = 'red'"))
    assert found == [
        "colour: expected one of the keys schema_version, extension, runtime, capabilities, dependencies,"
        " resources, configuration, contributes, found unknown key 'colour'. Remove it or correct its spelling."
    ]


def test_unknown_nested_key_is_an_error_with_its_toml_path() -> None:
    found = problems(changed('memory_limit = "512MiB"', 'memory_limit = "512MiB"\nmemroy = 1'))
    assert found == [
        "resources.memroy: expected one of the keys memory_limit, cpu_limit, gpu_required, timeout,"
        " found unknown key 'memroy'. Remove it or correct its spelling."
    ]


def test_missing_required_section_is_reported() -> None:
    text = manifest_text()
    without_runtime = text.replace('[runtime]\nkind = "python"\nentry = "demo_ext.main:run"\n', "")
    assert problems(without_runtime) == [
        "runtime: expected a [runtime] table, found nothing. Add the [runtime] table; see docs/extensions.md."
    ]


def test_bad_extension_name_says_what_a_name_looks_like() -> None:
    assert problems(changed('name = "demo-ext"', 'name = "Demo_Ext"')) == [
        "extension.name: expected a lowercase dashed name such as 'my-extension' (letters, digits, single dashes),"
        " found string 'Demo_Ext'. Use lowercase letters, digits and single dashes, starting with a letter."
    ]


def test_version_must_be_semver() -> None:
    assert problems(changed('version = "1.2.3"', 'version = "1.2"')) == [
        "extension.version: expected a semantic version such as '1.0.0', found string '1.2'."
        " See docs/extensions.md for this key."
    ]


def test_extension_type_must_be_a_known_kind() -> None:
    assert problems(changed('type = "operator"', 'type = "widget"')) == [
        "extension.type: expected one of 'instrument', 'operator', 'addon', found string 'widget'."
        " See docs/extensions.md for this key."
    ]


def test_wrong_value_type_names_expected_and_found_toml_types() -> None:
    assert problems(changed('author = "Tests"', "author = 3")) == [
        "extension.author: expected a string, found integer 3. See docs/extensions.md for this key."
    ]


def test_bad_file_access_short_form_is_reported_at_its_index() -> None:
    assert problems(changed('file_access = ["read:config"]', 'file_access = ["read:config", "peek:config"]')) == [
        "capabilities.file_access[1]: expected '<scope>:<path>' with scope read, write, execute or admin"
        " (e.g. 'read:config'), found string 'peek:config'."
        ' Or write a table {scope = "read", paths = ["~/notes/**"]}.'
    ]


def test_file_access_full_form_with_bad_scope_is_reported_inside_the_table() -> None:
    found = problems(changed('file_access = ["read:config"]', 'file_access = [{ scope = "peek", paths = ["~/x"] }]'))
    assert found == [
        "capabilities.file_access[0].scope: expected one of the accepted values (see docs/extensions.md),"
        " found string 'peek'. Use the short form 'read:config' or a table {scope, paths, operations}."
    ]


def test_a_file_access_glob_the_checker_cannot_read_is_reported_at_validation() -> None:
    assert problems(changed('file_access = ["read:config"]', 'file_access = ["read:/srv/[z-a]"]')) == [
        "capabilities.file_access[0]: expected a permission the host can read, found string 'read:/srv/[z-a]'."
        " Path pattern '/srv/[z-a]': the character range z-a in '[z-a]' runs backwards; write it from low to high"
        " ('[a-z]'), or list the characters one by one."
    ]


def test_a_file_access_table_with_a_glob_the_checker_cannot_read_is_reported_at_validation() -> None:
    found = problems(changed('file_access = ["read:config"]', 'file_access = [{ scope = "read", paths = ["/[z-a]"] }]'))
    assert found[0].startswith(
        "capabilities.file_access[0]: expected a permission the host can read, found a file_access table"
    )


def test_a_network_host_with_a_port_that_is_not_one_is_reported_at_validation() -> None:
    text = changed('file_access = ["read:config"]', 'file_access = ["read:config"]\nnetwork_access = ["h:\u00b2"]')
    assert problems(text) == [
        "capabilities.network_access[0]: expected a permission the host can read, found string 'h:\u00b2'."
        " Host 'h:\u00b2': the port '\u00b2' is not a number from 1 to 65535; write 'host:443', or the host alone"
        " for every port."
    ]


def test_a_memory_limit_beyond_any_machine_is_reported_with_the_limit() -> None:
    huge = "9" * 30 + "GB"
    assert problems(changed('memory_limit = "512MiB"', f'memory_limit = "{huge}"')) == [
        f"resources.memory_limit: expected a limit a machine can have, found string '{huge}'."
        f" '{huge}' is larger than the limit of 1 PiB; give the memory the extension needs, e.g. '2GB'"
    ]


def test_api_range_excluding_this_symphony_is_refused() -> None:
    have = f"{API_VERSION[0]}.{API_VERSION[1]}"
    assert problems(changed('symphony = "^1.0"', 'symphony = "^9.0"')) == [
        f"dependencies.symphony: expected a range containing this Symphony's API {have}, found '^9.0'."
        " Upgrade symphony if the extension needs a newer API, or widen the range if it works with this one."
    ]


def test_seed_symphony_core_key_is_an_alias_of_symphony() -> None:
    manifest, found = check_manifest_text(changed('symphony = "^1.0"', 'symphony-core = "^1.0"\nother-ext = "~2.1"'))
    assert found == []
    assert manifest is not None
    assert manifest.dependencies.symphony == "^1.0"
    assert manifest.dependencies.extensions == {"other-ext": "~2.1"}


def test_both_symphony_and_symphony_core_is_an_error() -> None:
    assert problems(changed('symphony = "^1.0"', 'symphony = "^1.0"\nsymphony-core = "^1.0"')) == [
        "dependencies.symphony-core: expected one Symphony API range, found both 'symphony' and its alias"
        " 'symphony-core'. Keep only symphony = \"^1.0\"."
    ]


def test_unparsable_dependency_range_is_reported() -> None:
    assert problems(changed('symphony = "^1.0"', 'symphony = "^1.0"\nother-ext = "soon"')) == [
        "dependencies.other-ext: expected a version range such as '^1.0', '~1.2' or '>=1.0,<2', found string 'soon'."
    ]


def test_python_package_in_dependencies_is_pointed_to_python_dependencies() -> None:
    assert problems(changed('symphony = "^1.0"', 'symphony = "^1.0"\nNumPy = ">=1"')) == [
        "dependencies.NumPy: expected 'symphony' or the name of another extension, found key 'NumPy'."
        " Python packages belong in [runtime] python_dependencies; extension names are lowercase and dashed."
    ]


def test_memory_limit_must_have_a_unit() -> None:
    assert problems(changed('memory_limit = "512MiB"', 'memory_limit = "lots"')) == [
        "resources.memory_limit: expected a size such as '2GB' or '512MiB', found string 'lots'."
        " Units: B, KB, MB, GB, TB (x1000), KiB, MiB, GiB, TiB."
    ]


def test_cpu_limit_must_be_a_percentage() -> None:
    assert problems(changed('memory_limit = "512MiB"', 'memory_limit = "512MiB"\ncpu_limit = "half"')) == [
        "resources.cpu_limit: expected a percentage of one core such as '50%', found string 'half'."
        " '200%' is two cores."
    ]


def test_timeout_must_be_positive() -> None:
    assert problems(changed('memory_limit = "512MiB"', 'memory_limit = "512MiB"\ntimeout = 0')) == [
        "resources.timeout: expected a number of seconds > 0, found integer 0. See docs/extensions.md for this key."
    ]


def test_configuration_default_must_fit_its_bounds() -> None:
    assert problems(changed("default = 3,", "default = 30,")) == [
        "configuration.top.default: expected an integer >= 1 and <= 10, found integer 30."
        " Make the default fit the field's type and bounds."
    ]


def test_configuration_default_must_fit_its_type() -> None:
    assert problems(changed("default = 3,", 'default = "3",')) == [
        "configuration.top.default: expected an integer, found string '3'."
        " Make the default fit the field's type and bounds."
    ]


def test_configuration_min_above_max_is_reported() -> None:
    assert problems(changed("min = 1, max = 10", "min = 10, max = 1")) == [
        "configuration.top.min: expected min <= max (1), found 10. Swap or correct the bounds.",
        "configuration.top.default: expected an integer >= 10 and <= 1, found integer 3."
        " Make the default fit the field's type and bounds.",
    ]


def test_configuration_type_must_be_known() -> None:
    assert problems(changed('type = "integer"', 'type = "int"')) == [
        "configuration.top.type: expected one of 'string', 'integer', 'float', 'boolean', 'list', 'table',"
        " found string 'int'. See docs/extensions.md for this key."
    ]


def test_secret_field_may_not_have_a_default_and_the_default_is_not_quoted() -> None:
    text = changed("[runtime]", 'api_key = { type = "string", secret = true, default = "sk-123" }\n\n[runtime]')
    found = problems(text)
    assert found == [
        "configuration.api_key.default: expected no default for a secret field, found a default value (hidden)."
        " Remove the default: secrets come from the user's environment or secrets file."
    ]
    assert "sk-123" not in "".join(found)


def test_secret_field_must_be_a_string() -> None:
    assert problems(changed("[runtime]", 'pin = { type = "integer", secret = true }\n\n[runtime]')) == [
        "configuration.pin.type: expected 'string' for a secret field, found 'integer'. Secrets are strings."
    ]


def test_python_entry_must_be_module_colon_callable() -> None:
    assert problems(changed('entry = "demo_ext.main:run"', 'entry = "demo_ext.main.run"')) == [
        "runtime.entry: expected 'module:callable' such as 'my_extension.main:run', found string 'demo_ext.main.run'."
        " A python extension names a Python callable."
    ]


def test_wasm_entry_must_be_a_relative_module_file() -> None:
    text = changed('kind = "python"\nentry = "demo_ext.main:run"', 'kind = "wasm"\nentry = "../op.so"')
    assert problems(text) == [
        "runtime.entry: expected a .wasm or .wat file path relative to the package, such as 'operator.wasm',"
        " found string '../op.so'. Ship the module or component inside the extension's package."
    ]


def test_installed_wasm_entry_must_exist(tmp_path: Path) -> None:
    (tmp_path / "symphony-extension.toml").write_text(
        changed('kind = "python"\nentry = "demo_ext.main:run"', 'kind = "wasm"\nentry = "op.wasm"'), encoding="utf-8"
    )
    assert check_manifest(tmp_path / "symphony-extension.toml")[1] == []  # a source tree may build it later
    found = [str(p) for p in check_manifest(tmp_path / "symphony-extension.toml", installed=True)[1]]
    assert found == [
        f"runtime.entry: expected an existing file 'op.wasm' beside the manifest, found no such file in {tmp_path}."
        " Build the module (see docs/extensions.md) or correct the path."
    ]


def test_python_dependencies_only_for_subprocess_runtime() -> None:
    text = changed('entry = "demo_ext.main:run"', 'entry = "demo_ext.main:run"\npython_dependencies = ["httpx"]')
    assert problems(text) == [
        "runtime.python_dependencies: expected python_dependencies only with kind = 'subprocess' or 'mcp',"
        " found kind = 'python'. Drop them, or run the extension as a subprocess with its own environment."
    ]


MCP_RUNTIME = 'kind = "mcp"\ncommand = ["mcp-server-time", "--local-timezone", "UTC"]'
PYTHON_RUNTIME = 'kind = "python"\nentry = "demo_ext.main:run"'


def test_an_mcp_server_is_a_command_with_its_dependencies() -> None:
    text = changed(PYTHON_RUNTIME, MCP_RUNTIME + '\npython_dependencies = ["mcp-server-time==2026.10.19"]')
    manifest, found = check_manifest_text(text)
    assert found == []
    assert manifest is not None
    assert manifest.runtime.command == ("mcp-server-time", "--local-timezone", "UTC")
    assert manifest.runtime.python_dependencies == ("mcp-server-time==2026.10.19",)


def test_an_mcp_server_may_be_a_python_entry_instead() -> None:
    manifest, found = check_manifest_text(changed(PYTHON_RUNTIME, 'kind = "mcp"\nentry = "demo_ext.server:main"'))
    assert found == []
    assert manifest is not None and manifest.runtime.entry == "demo_ext.server:main"


def test_an_mcp_server_with_both_command_and_entry_is_refused() -> None:
    assert problems(changed(PYTHON_RUNTIME, MCP_RUNTIME + '\nentry = "demo_ext.server:main"')) == [
        "runtime: expected exactly one of command and entry for kind = 'mcp', found both."
        " Give the server's argv as command = [\"mcp-server-time\"], or a Python entry = 'module:callable'."
    ]


def test_an_mcp_server_with_neither_command_nor_entry_is_refused() -> None:
    assert problems(changed(PYTHON_RUNTIME, 'kind = "mcp"')) == [
        "runtime: expected exactly one of command and entry for kind = 'mcp', found neither."
        " Give the server's argv as command = [\"mcp-server-time\"], or a Python entry = 'module:callable'."
    ]


def test_command_is_refused_for_other_runtime_kinds() -> None:
    assert problems(changed(PYTHON_RUNTIME, PYTHON_RUNTIME + '\ncommand = ["server"]')) == [
        "runtime.command: expected command only with kind = 'mcp', found kind = 'python'."
        " Name a Python callable in entry, or run an MCP server with kind = 'mcp'."
    ]


def test_a_python_runtime_without_entry_is_refused() -> None:
    assert problems(changed(PYTHON_RUNTIME, 'kind = "python"')) == [
        "runtime.entry: expected a key, found nothing. A python extension names its entry point."
    ]


def subprocess_needing(*requirements: str) -> str:
    """The demo manifest as a subprocess extension with these python_dependencies."""
    listed = ", ".join(json.dumps(text) for text in requirements)
    return changed('kind = "python"', f'kind = "subprocess"\npython_dependencies = [{listed}]')


def test_index_requirements_with_extras_specifiers_and_markers_are_accepted() -> None:
    text = subprocess_needing("httpx>=0.27", "attrs[tests]==23.2.0", "tomli; python_version < '3.11'", "rich")
    assert check_manifest_text(text)[1] == []


@pytest.mark.parametrize(
    ("requirement", "found"),
    [
        ("evil @ file:///tmp/evilpkg", "the direct reference 'evil @ file:///tmp/evilpkg'"),
        ("evil @ https://example.com/evil-1.0.tar.gz", "the direct reference 'evil @ https://example.com/evil"),
        ("evil @ git+https://example.com/evil.git", "the direct reference 'evil @ git+https://example.com/evil.git'"),
        ("https://example.com/evil-1.0.tar.gz", "'https://example.com/evil-1.0.tar.gz', which is not a requirement"),
        ("git+https://example.com/evil.git", "'git+https://example.com/evil.git', which is not a requirement"),
        ("./evilpkg", "'./evilpkg', which is not a requirement"),
        ("--index-url=https://evil.example/simple", "the pip option '--index-url=https://evil.example/simple'"),
        ("--extra-index-url https://evil.example", "the pip option '--extra-index-url'"),
        ("-e /tmp/evilpkg", "the pip option '-e'"),
        ("-r /tmp/requirements.txt", "the pip option '-r'"),
        ("httpx>=0.27 --hash=sha256:00", "'httpx>=0.27 --hash=sha256:00', which is not a requirement"),
        ("httpx >= ", "'httpx >=', which is not a requirement"),
    ],
    ids=[
        "file-url",
        "https-url",
        "vcs-url",
        "bare-url",
        "bare-vcs",
        "local-path",
        "index-url",
        "extra-index-url",
        "editable",
        "requirements-file",
        "inline-hash",
        "unparsable",
    ],
)
def test_a_python_dependency_that_is_not_a_name_and_specifiers_from_the_index_is_refused(
    requirement: str, found: str
) -> None:
    (problem,) = problems(subprocess_needing(requirement))
    assert problem.startswith(
        "runtime.python_dependencies[0]: expected a requirement from the package index such as 'httpx>=0.27'"
        " (a name and version specifiers), found " + found
    ), problem
    assert problem.endswith(
        "Publish the dependency to an index and name it; pip options belong in the host's pip_args."
    )


def test_contributed_port_type_must_be_a_workflow_type() -> None:
    assert problems(changed('count = { type = "integer" }', 'count = { type = "int" }')) == [
        "contributes.operators[0].outputs.count.type: expected a workflow type: any, json, string, number, integer,"
        " boolean, object, bytes or list[T], found 'int'. See docs/workflows.md for the type language."
    ]


def test_contributed_names_must_be_unique_per_kind() -> None:
    text = manifest_text() + '\n[[contributes.operators]]\nname = "demo-ext-op"\n'
    assert problems(text) == [
        "contributes.operators[1].name: expected a name unique among the operators, found 'demo-ext-op' again."
        " Rename one."
    ]


def test_every_problem_is_reported_at_once() -> None:
    text = (
        changed('version = "1.2.3"', 'version = "x"')
        .replace('memory_limit = "512MiB"', 'memory_limit = "lots"\nextra = 1')
        .replace("default = 3,", "default = 99,")
        .replace('entry = "demo_ext.main:run"', 'entry = "nope"')
    )
    paths = [p.path for p in check_manifest_text(text)[1]]
    assert paths == [
        "extension.version",
        "resources.extra",
        "resources.memory_limit",
        "configuration.top.default",
        "runtime.entry",
    ]


def test_unreadable_file_is_one_problem(tmp_path: Path) -> None:
    manifest, found = check_manifest(tmp_path / "missing.toml")
    assert manifest is None
    assert str(found[0]).startswith(f"manifest: expected a readable manifest file, found {tmp_path}/missing.toml:")


def test_load_manifest_raises_listing_every_problem(tmp_path: Path) -> None:
    from symphony.hookspecs import ConfigurationError

    path = tmp_path / "symphony-extension.toml"
    path.write_text(changed('version = "1.2.3"', 'version = "x"').replace("default = 3,", "default = 99,"))
    with pytest.raises(ConfigurationError, match=r"has 2 problem\(s\):\n  extension.version: .*\n  configuration"):
        load_manifest(path)
