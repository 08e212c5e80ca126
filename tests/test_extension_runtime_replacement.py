"""A distribution replaces an extension runtime through ``symphony_extension_runtimes``: ``ext invoke`` uses it.

The ``own-extension-runtime`` test distribution (really installed) contributes
a ``subprocess`` runtime of its own and an extension that asks for that kind;
its profile blocks the ``sandbox`` plugin.  The runtime runs no process and
logs each call to ``DATA_DIR/own-extension-runtime.log``, so the tests see
that the host reached it, and not the sandbox's worker, through the hook alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from symphony.hookspecs import ExtensionError, ProviderConflictError, hookimpl
from symphony.hookspecs.ports import HostContext
from symphony.hookspecs.runtimes import RuntimeSpec
from symphony.host import Host, Settings
from symphony.host.extensions._runtimes import ContributedRuntimes
from symphony.sandbox import plugin as sandbox_plugin
from tests.replacing import Replacement

if TYPE_CHECKING:  # pytest imports conftest itself; annotations only need the names
    from tests.conftest import Symphony


REPLACEMENT = Replacement("own-extension-runtime")
cli = REPLACEMENT.cli_fixture()
calls = REPLACEMENT.calls


@pytest.mark.slow
def test_symphony_extension_runtimes_of_a_distribution_serve_ext_invoke(cli: Symphony) -> None:
    result = cli.run("ext", "invoke", "own-runtime-ext", "echo", "--input", 'value={"n": 1}', "--json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"] == {
        "value": {"ran_in": "own-extension-runtime", "operation": "echo", "input": {"value": {"n": 1}}}
    }
    assert [(call["method"], call["extension"]) for call in calls(cli)] == [
        ("start", "own-runtime-ext"),
        ("invoke", "own-runtime-ext"),
        ("close", "own-runtime-ext"),
    ]


class GivesNoRuntime:
    """A plugin whose ``subprocess`` factory returns something that is not a runtime of that kind."""

    @hookimpl
    def symphony_extension_runtimes(self, context: HostContext) -> list[RuntimeSpec]:
        return [RuntimeSpec(name="subprocess", factory=lambda context: object())]  # type: ignore[arg-type,return-value]


def loaded(tmp_path: Path, *plugins: object) -> Host:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    return Host(settings, plugins=plugins, discover_plugins=False).load()


def test_the_sandbox_plugin_contributes_every_kind_each_built_when_first_asked(tmp_path: Path) -> None:
    runtimes = ContributedRuntimes(loaded(tmp_path, sandbox_plugin).context, {"python", "subprocess", "wasm"})

    assert sorted(runtimes) == ["python", "subprocess", "wasm"]
    assert [runtimes[kind].kind for kind in ("python", "subprocess", "wasm")] == ["python", "subprocess", "wasm"]
    assert runtimes["wasm"] is runtimes["wasm"]


def test_a_kind_the_policy_does_not_allow_is_not_offered_even_when_contributed(tmp_path: Path) -> None:
    runtimes = ContributedRuntimes(loaded(tmp_path, sandbox_plugin).context, {"python"})

    assert list(runtimes) == ["python"]
    with pytest.raises(
        ExtensionError, match=r"No plugin provides the 'wasm' extension runtime\. Install symphony-sandbox"
    ):
        runtimes["wasm"]


def test_a_factory_giving_no_runtime_of_its_kind_is_an_error_naming_plugin_and_kind(tmp_path: Path) -> None:
    runtimes = ContributedRuntimes(loaded(tmp_path, GivesNoRuntime()).context, {"subprocess"})

    with pytest.raises(ExtensionError, match=r"contributes the subprocess runtime .* but its factory gave object"):
        runtimes["subprocess"]


def test_two_plugins_contributing_one_kind_are_a_conflict_naming_the_kind(tmp_path: Path) -> None:
    context = loaded(tmp_path, sandbox_plugin, GivesNoRuntime()).context

    with pytest.raises(ProviderConflictError, match=r"both contribute 'subprocess' to symphony_extension_runtimes"):
        ContributedRuntimes(context, {"subprocess"})


def test_asking_whether_a_kind_is_offered_builds_no_runtime(tmp_path: Path) -> None:
    runtimes = ContributedRuntimes(loaded(tmp_path, GivesNoRuntime()).context, {"subprocess"})

    assert "subprocess" in runtimes  # building it would raise: its factory gives no runtime
    assert "wasm" not in runtimes
