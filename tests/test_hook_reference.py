"""The hook and port reference: one docstring template, and docs/hooks.md generated from it."""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, get_args, get_origin, get_overloads, get_type_hints

import pytest

from symphony.hookspecs import ComponentError, PluginError, PluginLoadError, error_class_for, hooks
from symphony.hookspecs.ports import PORT_PROTOCOLS, HostContext, PortName

ROOT = Path(__file__).resolve().parents[1]


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_hooks_doc", ROOT / "scripts" / "gen_hooks_doc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_hooks_doc", module)
    spec.loader.exec_module(module)
    return module


GEN = generator()
HOOKSPECS = [(name, spec) for name, spec, _ in GEN._hookspecs()]
PROTOCOLS = [*PORT_PROTOCOLS.values(), *GEN.CAPABILITIES, *GEN.SUPPORTING]


def sections_of(owner: object) -> list[str]:
    return list(GEN.parse(inspect.getdoc(owner) or "")[1])


def test_docs_hooks_md_is_what_the_generator_writes_from_the_docstrings() -> None:
    written = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    assert written == GEN.render(), "docs/hooks.md is stale: run python scripts/gen_hooks_doc.py"


def test_the_generator_lists_every_hookspec_in_the_module() -> None:
    assert sorted(name for name, _ in HOOKSPECS) == sorted(n for n in vars(hooks) if n.startswith("symphony_"))


@pytest.mark.parametrize(("name", "spec"), HOOKSPECS, ids=[name for name, _ in HOOKSPECS])
def test_every_hookspec_docstring_follows_the_template(name: str, spec: Callable[..., Any]) -> None:
    prose, found = GEN.parse(inspect.getdoc(spec) or "")
    assert prose, f"{name} says nothing about what it is for"
    assert list(found) == list(GEN.HOOK_SECTIONS), f"{name}: sections {list(found)}"
    documented = {item for item, _ in GEN._items(found["Args"])}
    assert documented == set(inspect.signature(spec).parameters), f"{name}: Args name every parameter"
    assert found["Since"] == "1.0"


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=[p.__name__ for p in PROTOCOLS])
def test_every_port_protocol_states_its_contract(protocol: type[object]) -> None:
    expected = GEN.PORT_SECTIONS if protocol in (*PORT_PROTOCOLS.values(), *GEN.CAPABILITIES) else GEN.PORT_SECTIONS[1:]
    assert sections_of(protocol) == list(expected)
    members = {name: value for name, value in vars(protocol).items() if GEN._is_public_member(name, value)}
    assert members, f"{protocol.__name__} has no members"
    undocumented = [name for name, value in members.items() if not inspect.getdoc(value)]
    assert undocumented == [], f"{protocol.__name__}: members without a docstring"


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=[p.__name__ for p in PROTOCOLS])
def test_port_method_docstrings_use_only_the_method_sections(protocol: type[object]) -> None:
    for name, value in vars(protocol).items():
        if GEN._is_public_member(name, value):
            assert set(sections_of(value)) <= set(GEN.METHOD_SECTIONS), f"{protocol.__name__}.{name}"


def test_the_port_registry_names_each_port_once_with_its_provider_hook() -> None:
    assert tuple(PORT_PROTOCOLS) == get_args(PortName)
    assert all(callable(getattr(hooks, f"symphony_provide_{name}", None)) for name in PORT_PROTOCOLS)


def test_host_context_port_is_typed_as_each_ports_protocol() -> None:
    namespace = {**vars(sys.modules[HostContext.__module__]), "HostContext": HostContext}
    typed: dict[str, object] = {}
    for overload in get_overloads(HostContext.port):
        hints = get_type_hints(overload, globalns=namespace)
        if get_origin(hints["name"]) is Literal and len(get_args(hints["name"])) == 1:
            typed[get_args(hints["name"])[0]] = hints["return"]
    assert typed == PORT_PROTOCOLS


@pytest.mark.parametrize("deprecated", [PluginLoadError, ComponentError], ids=lambda cls: cls.__name__)
def test_an_error_the_host_never_raises_warns_that_it_is_deprecated(deprecated: type[PluginError]) -> None:
    with pytest.deprecated_call(match=f"{deprecated.__name__} is deprecated.*catch PluginError"):
        error = deprecated("gone", plugin="p")
    assert isinstance(error, PluginError) and error.plugin == "p"


@pytest.mark.parametrize("category", ["plugin.load", "plugin.component"])
def test_the_wire_category_of_a_deprecated_error_decodes_to_plugin_error(category: str) -> None:
    assert error_class_for(category) is PluginError


def test_the_reference_docstrings_are_markdown_without_rest_roles() -> None:
    """mkdocstrings and the generated page render docstrings as Markdown, where ``:meth:`x``` shows as written."""
    page = GEN.render()
    assert re.findall(r":(?:meth|class|func|attr|param|returns|raises)\b[^\n]{0,30}|\.\. version\w+::", page) == []
