"""The msgspec mirror of the settings: the same shape as the pydantic schema, the same answers, or no answer."""

from __future__ import annotations

import os
import subprocess
import sys
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from symphony.hookspecs import ConfigurationError
from symphony.host import _settings, _settings_mirror
from symphony.host._settings import load_settings
from tests.conftest import SYMPHONY

if TYPE_CHECKING:
    from tests.conftest import Symphony

#: Each pydantic model and its mirror.
PAIRS: dict[type[BaseModel], type[msgspec.Struct]] = {
    _settings.Settings: _settings_mirror.Settings,
    _settings.RetrySettings: _settings_mirror.Retry,
    _settings.ComponentSettings: _settings_mirror.Component,
    _settings.PluginSettings: _settings_mirror.Plugins,
    _settings.HookSettings: _settings_mirror.Hooks,
    _settings.SandboxSettings: _settings_mirror.Sandbox,
    _settings.PermissionSettings: _settings_mirror.Permissions,
    _settings.ExtensionSettings: _settings_mirror.Extensions,
}
MIRROR_OF = {model.__name__: struct.__name__ for model, struct in PAIRS.items()}


@pytest.fixture(autouse=True)
def no_symphony_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [n for n in os.environ if n.lower().startswith("symphony_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _constraints(items: list[Any]) -> list[str]:
    """Bounds as ``ge=1.0``, from annotated_types' objects or msgspec's type information."""
    bounds = [(name, getattr(item, name, None)) for item in items for name in ("ge", "gt", "le", "lt")]
    return sorted(f"{name}={float(value)!r}" for name, value in bounds if value is not None)


def pydantic_type(annotation: Any, metadata: list[Any] = []) -> str:  # noqa: B006 (never mutated)
    """A field's type in words that :func:`mirror_type` also gives for the same type."""
    bounds = _constraints(metadata)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return pydantic_type(args[0], [*metadata, *annotation.__metadata__])
    if origin in (types.UnionType, typing.Union):
        return " | ".join(sorted(pydantic_type(arg) for arg in args))
    if origin is list:
        return f"list[{pydantic_type(args[0])}]"
    if origin is dict:
        return f"dict[{pydantic_type(args[0])}, {pydantic_type(args[1])}]"
    if origin is typing.Literal:
        return f"Literal{sorted(map(str, args))}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return MIRROR_OF[annotation.__name__]
    name = {type(None): "None", typing.Any: "Any"}.get(annotation) or annotation.__name__
    return f"{name}{bounds}" if bounds else name


def mirror_type(info: msgspec.inspect.Type) -> str:
    inspect = msgspec.inspect
    if isinstance(info, inspect.UnionType):
        return " | ".join(sorted(mirror_type(item) for item in info.types))
    if isinstance(info, inspect.ListType):
        return f"list[{mirror_type(info.item_type)}]"
    if isinstance(info, inspect.DictType):
        return f"dict[{mirror_type(info.key_type)}, {mirror_type(info.value_type)}]"
    if isinstance(info, inspect.LiteralType):
        return f"Literal{sorted(map(str, info.values))}"
    if isinstance(info, inspect.StructType | inspect.CustomType):
        return str(info.cls.__name__)
    names = {"IntType": "int", "FloatType": "float", "BoolType": "bool", "StrType": "str", "NoneType": "None"}
    name = (names | {"AnyType": "Any"})[type(info).__name__]
    bounds = _constraints([info])
    return f"{name}{bounds}" if bounds else name


@pytest.mark.parametrize(("model", "struct"), PAIRS.items(), ids=[m.__name__ for m in PAIRS])
def test_each_mirror_has_the_fields_of_its_model_in_order_with_the_same_types(
    model: type[BaseModel], struct: type[msgspec.Struct]
) -> None:
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    mirrored = {f.name: mirror_type(f.type) for f in info.fields}
    expected = {name: pydantic_type(f.annotation, f.metadata) for name, f in model.model_fields.items()}
    assert list(mirrored.items()) == list(expected.items())


@pytest.mark.parametrize(("model", "struct"), PAIRS.items(), ids=[m.__name__ for m in PAIRS])
def test_each_mirror_forbids_unknown_keys_as_its_model_does(
    model: type[BaseModel], struct: type[msgspec.Struct]
) -> None:
    assert model.model_config.get("extra") == "forbid"
    assert struct.__struct_config__.forbid_unknown_fields


def test_the_defaults_are_the_models_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert _settings_mirror.validate({}, {}, {}) == load_settings().model_dump()
    assert _settings_mirror.component_default() == _settings.ComponentSettings().model_dump()


def test_the_environment_prefix_and_nesting_are_the_models() -> None:
    config = _settings.Settings.model_config
    assert (config.get("env_prefix"), config.get("env_nested_delimiter")) == ("SYMPHONY_", "__")
    assert not config.get("case_sensitive")


FILE = {
    "distro": "acme",
    "data_dir": "/srv//data/",
    "plugins": {"enable": ["a"], "block": ["b"], "priority": {"a": 5}, "index_cache": False},
    "hooks": {"timeout": 4.5, "profile": True},
    "ports": {"data_access": "data"},
    "components": {"x": {"timeout": 2, "retry_policy": {"max_attempts": 5}, "options": {"n": 1, "deep": {"a": [1]}}}},
    "sandbox": {"policy": "strict", "runtimes": ["wasm"]},
    "extensions": {"config": {"e": {"k": "v"}}, "secrets_file": "s.toml"},
    "permissions": {
        "database": "p.db",
        "trusted": ["t"],
        "deny": ["network", "file:read:/etc"],
        "audit_flush_interval": 60,
    },
}

#: (settings file, environment, --set overrides, profile defaults): valid, and the mirror must answer them.
ANSWERED: list[tuple[dict[str, Any], dict[str, str], dict[str, Any], dict[str, Any]]] = [
    ({}, {}, {}, {}),
    (FILE, {}, {}, {}),
    ({}, {"SYMPHONY_HOOKS__TIMEOUT": "31"}, {}, {}),
    ({}, {"symphony_hooks__timeout": "2.25", "SYMPHONY_HOOKS__PROFILE": "Yes"}, {}, {}),
    ({}, {"SYMPHONY_HOOKS__TIMEOUT": "007", "SYMPHONY_HOOKS__PROFILE": "TRUE"}, {}, {}),
    ({}, {"SYMPHONY_PLUGINS__INDEX_CACHE": "off", "SYMPHONY_EXTENSIONS__INDEX_CACHE": "0"}, {}, {}),
    ({}, {"SYMPHONY_SANDBOX__POLICY": "permissive", "SYMPHONY_PERMISSIONS__DATABASE": "x//p.db"}, {}, {}),
    ({}, {"SYMPHONY_DISTRO": "null", "SYMPHONY_DATA_DIR": "/d", "SYMPHONY_CACHE_DIR": "rel/c"}, {}, {}),
    ({}, {"SYMPHONY_PERMISSIONS__AUDIT_FLUSH_INTERVAL": "60", "SYMPHONY_EXTENSIONS__SECRETS_FILE": "s"}, {}, {}),
    ({}, {"SYMPHONY_CONFIG": "elsewhere.toml", "SYMPHONY_UNRELATED": "1"}, {}, {}),
    ({"hooks": {"profile": True}}, {"SYMPHONY_HOOKS__TIMEOUT": "3"}, {"hooks": {"timeout": 5}}, {}),
    ({"components": {"x": {"options": {"a": 1}}}}, {}, {"components": {"x": {"options": {"b": 2}}}}, {}),
    ({"plugins": {"block": ["f"]}}, {}, {}, {"plugins": {"block": ["p"], "priority": {"q": 1}}}),
    ({}, {}, {}, {"sandbox": {"policy": "strict", "runtimes": ["subprocess"]}}),
    ({"hooks": {"timeout": float("inf")}, "components": {"y": {"retry_policy": {"backoff_initial": 0}}}}, {}, {}, {}),
]

#: Invalid: pydantic says what is wrong, so the mirror must not answer.
REJECTED: list[tuple[dict[str, Any], dict[str, str], dict[str, Any], dict[str, Any]]] = [
    ({"hook": {}}, {}, {}, {}),
    ({"hooks": {"timeout": 0}}, {}, {}, {}),
    ({"hooks": {"timeout": float("nan")}}, {}, {}, {}),
    ({"hooks": {"timeout": "soon"}}, {}, {}, {}),
    ({"hooks": {"timeuot": 1}}, {}, {}, {}),
    ({"hooks": []}, {}, {}, {}),
    ({"components": {"x": {"retry_policy": {"max_attempts": 0}}}}, {}, {}, {}),
    ({"components": {"x": {"retry_policy": {"max_attempts": 101}}}}, {}, {}, {}),
    ({"components": {"x": {"retry_policy": {"backoff_multiplier": 0.5}}}}, {}, {}, {}),
    ({"components": {"x": {"options": []}}}, {}, {}, {}),
    ({"components": {"x": {"unknown": 1}}}, {}, {}, {}),
    ({"plugins": {"enable": "a"}}, {}, {}, {}),
    ({"plugins": {"priority": {"a": "high"}}}, {}, {}, {}),
    ({"ports": {"no-such-port": "x"}}, {}, {}, {}),
    ({"sandbox": {"policy": "lax"}}, {}, {}, {}),
    ({"sandbox": {"runtimes": ["java"]}}, {}, {}, {}),
    ({"permissions": {"deny": ["fiel:/etc"]}}, {}, {}, {}),
    ({"permissions": {"audit_flush_interval": 61}}, {}, {}, {}),
    ({"distro": 3}, {}, {}, {}),
    ({"data_dir": 3}, {}, {}, {}),
    ({}, {"SYMPHONY_HOOKS__TIMEOUT": "-1"}, {}, {}),
    ({}, {"SYMPHONY_HOOKS__TIMEOUT": "0"}, {}, {}),
    ({}, {"SYMPHONY_HOOKS__TIMEOUT": "soon"}, {}, {}),
    ({}, {"SYMPHONY_HOOKS__PROFILE": "maybe"}, {}, {}),
    ({}, {"SYMPHONY_HOOKS__BOGUS": "1"}, {}, {}),
    ({}, {"SYMPHONY_SANDBOX__POLICY": "lax"}, {}, {}),
    ({}, {"SYMPHONY_PLUGINS__BLOCK": "a"}, {}, {}),
    ({}, {"SYMPHONY_HOOKS": "[]"}, {}, {}),
    ({}, {}, {"hooks": {"timeout": "abc"}}, {}),
    ({}, {}, {"hooks": {"timeout": 1}}, {"hooks": {"nope": 1}}),
]

#: Valid, but in forms the mirror leaves to pydantic (its answer, if any, must still be pydantic's).
EITHER: list[tuple[dict[str, Any], dict[str, str], dict[str, Any], dict[str, Any]]] = [
    ({"hooks": {"timeout": "5"}}, {}, {}, {}),
    ({"hooks": {"profile": 1}}, {}, {}, {}),
    ({"components": {"x": {"retry_policy": {"max_attempts": 3.0}}}}, {}, {}, {}),
    ({"plugins": {"priority": {"a": True}}}, {}, {}, {}),
    ({}, {"SYMPHONY_HOOKS__TIMEOUT": " 31 "}, {}, {}),
    ({}, {"SYMPHONY_HOOKS__TIMEOUT": "1e3"}, {}, {}),
    ({}, {"SYMPHONY_HOOKS": '{"timeout": 3}'}, {}, {}),
    ({}, {"SYMPHONY_COMPONENTS__X__TIMEOUT": "3"}, {}, {}),
    ({}, {"SYMPHONY_PERMISSIONS__DATABASE": ""}, {}, {}),
    ({}, {"SYMPHONY_DATA_DIR": ""}, {}, {}),
    ({}, {"SYMPHONY_HOOKS__TIMEOUT": "3", "symphony_hooks__timeout": "4"}, {}, {}),
]


def _answers(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    case: tuple[dict[str, Any], dict[str, str], dict[str, Any], dict[str, Any]],
) -> tuple[dict[str, Any] | None, dict[str, Any] | str]:
    """The mirror's answer and pydantic's (its dump, or its error message) for one case."""
    from_file, env, overrides, profile = case
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "symphony.toml"
    config.write_text(msgspec.toml.encode(from_file).decode(), encoding="utf-8")
    from symphony.host._layers import read_settings_file

    mirrored = _settings_mirror.validate(read_settings_file(config), overrides, profile)
    try:
        validated: dict[str, Any] | str = load_settings(
            config_file=config, overrides=overrides, profile_defaults=profile
        ).model_dump()
    except ConfigurationError as error:
        validated = str(error)
    return mirrored, validated


@pytest.mark.parametrize("case", ANSWERED, ids=[str(i) for i in range(len(ANSWERED))])
def test_the_mirror_answers_usual_settings_as_pydantic_does(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, case: Any
) -> None:
    mirrored, validated = _answers(monkeypatch, tmp_path, case)
    assert isinstance(validated, dict), validated
    assert mirrored == validated


@pytest.mark.parametrize("case", REJECTED, ids=[str(i) for i in range(len(REJECTED))])
def test_the_mirror_leaves_invalid_settings_to_pydantic(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, case: Any
) -> None:
    mirrored, validated = _answers(monkeypatch, tmp_path, case)
    assert isinstance(validated, str)  # pydantic's message for the user
    assert mirrored is None


@pytest.mark.parametrize("case", EITHER, ids=[str(i) for i in range(len(EITHER))])
def test_an_answer_the_mirror_gives_for_unusual_forms_is_pydantics(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, case: Any
) -> None:
    mirrored, validated = _answers(monkeypatch, tmp_path, case)
    assert mirrored is None or mirrored == validated


def test_a_command_after_the_settings_changed_imports_no_pydantic(symphony: Callable[..., Symphony]) -> None:
    runner = symphony()
    assert runner.run("plugins", "list", "--json").returncode == 0  # the snapshot holds the old settings
    (runner.home / "symphony.toml").write_text('[plugins]\nblock = ["registry"]\n', encoding="utf-8")
    env = runner.env() | {"SYMPHONY_HOOKS__TIMEOUT": "12"}
    command = [sys.executable, "-X", "importtime", str(SYMPHONY), "plugins", "list", "--json"]
    listed = subprocess.run(command, env=env, cwd=runner.home, capture_output=True, text=True, check=False)
    assert listed.returncode == 0, listed.stderr[-2000:]
    modules = {line.rpartition("|")[2].strip() for line in listed.stderr.splitlines() if line.startswith("import time")}
    assert "symphony.host._host" in modules
    assert sorted(m for m in modules if m.partition(".")[0] in ("pydantic", "pydantic_settings", "pydantic_core")) == []
    assert {p["name"]: p["status"] for p in msgspec.json.decode(listed.stdout)}["registry"] != "loaded"


def test_an_invalid_change_is_still_reported_by_pydantic(symphony: Callable[..., Symphony]) -> None:
    runner = symphony()
    runner.home.mkdir(parents=True)
    (runner.home / "symphony.toml").write_text("[hooks]\ntimeuot = 5\n", encoding="utf-8")
    done = runner.run("plugins", "list")
    assert done.returncode != 0
    assert "Unknown setting `hooks.timeuot`; did you mean `hooks.timeout`?" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_models_validators_are_those_the_mirror_checks_too() -> None:
    """A new validator in the schema must be mirrored in ``_settings_mirror._check`` (then listed here)."""
    validators = {model.__name__: sorted(model.__pydantic_decorators__.field_validators) for model in PAIRS}
    checked = {"Settings": ["_known_ports"], "PermissionSettings": ["_valid_denials"]}
    assert {name: names for name, names in validators.items() if names} == checked
    assert all(not model.__pydantic_decorators__.model_validators for model in PAIRS)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    key=st.sampled_from(["HOOKS__TIMEOUT", "HOOKS__PROFILE", "PERMISSIONS__AUDIT_FLUSH_INTERVAL", "SANDBOX__POLICY"]),
    text=st.text(st.sampled_from("0123456789.-+eE _xtrueTRUEfalsyonYNstrict"), max_size=8),
)
def test_any_environment_value_gets_pydantics_answer_or_none(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key: str, text: str
) -> None:
    mirrored, validated = _answers(monkeypatch, tmp_path, ({}, {f"SYMPHONY_{key}": text}, {}, {}))
    if isinstance(validated, str):  # pydantic's error for the user
        assert mirrored is None
    else:
        assert mirrored in (None, validated)
