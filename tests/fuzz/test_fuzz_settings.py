"""Fuzzing every way settings arrive: Settings or a ConfigurationError, nothing else.

The settings file (random bytes, a valid file spliced, tables nested thousands
deep), ``--set KEY=VALUE`` overrides and ``SYMPHONY_*`` environment values.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fuzz_workflow_formats import mutated  # type: ignore[import-not-found]  # tests/fuzz is no package

from symphony.hookspecs import ConfigurationError
from symphony.host._settings import Settings, load_settings, merge_overrides

FUZZ: Final = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VALID: Final = b"""\
data_dir = "/tmp/symphony-data"

[plugins]
block = ["nothing"]

[hooks]
timeout = 5

[components.workflow.options]
max_nodes = 20000
timeout = 0.5

[components.openai]
enabled = false
options = { model = "m", stop = ["a", "b"], extra = { deep = [1, [2, [3]]] } }
"""
KEYS: Final = st.sampled_from(["hooks.timeout", "components.x.options", "ports", "plugins.block", "distro", "x.y"])


def loads(config_file: Path | None = None, overrides: Sequence[str] = ()) -> None:
    """The only outcomes allowed: settings, or a ConfigurationError that says something."""
    try:
        assert isinstance(load_settings(config_file=config_file, overrides=merge_overrides(list(overrides))), Settings)
    except ConfigurationError as error:
        assert str(error)


@contextmanager
def settings_file(data: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "symphony.toml"
        path.write_bytes(data)
        yield path


@contextmanager
def environment(name: str, value: str) -> Iterator[None]:
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before


def test_the_valid_settings_file_loads() -> None:
    with settings_file(VALID) as path:
        assert load_settings(config_file=path).hooks.timeout == 5


@FUZZ
@given(data=st.binary(max_size=1024))
def test_a_random_settings_file_loads_or_is_a_configuration_error(data: bytes) -> None:
    with settings_file(data) as path:
        loads(config_file=path)


@FUZZ
@given(data=st.data())
def test_the_valid_settings_file_mutated_loads_or_is_a_configuration_error(data: st.DataObject) -> None:
    with settings_file(data.draw(mutated(VALID))) as path:
        loads(config_file=path)


@FUZZ
@given(key=KEYS | st.text(max_size=20), value=st.text(max_size=200))
def test_a_set_override_loads_or_is_a_configuration_error(key: str, value: str) -> None:
    loads(overrides=[f"{key}={value}"])


@FUZZ
@given(
    name=st.sampled_from(["SYMPHONY_COMPONENTS__X__OPTIONS", "SYMPHONY_HOOKS__TIMEOUT", "SYMPHONY_PORTS"]),
    value=st.text(alphabet=st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=200),
)
def test_an_environment_value_loads_or_is_a_configuration_error(name: str, value: str) -> None:
    with environment(name, value):
        loads()


@pytest.mark.slow
@settings(max_examples=30, deadline=None)
@given(levels=st.integers(1, 6_000), where=st.sampled_from(["file", "set", "environment"]))
def test_deeply_nested_settings_are_a_configuration_error_or_load(levels: int, where: str) -> None:
    nest = "[" * levels + "]" * levels
    if where == "file":
        with settings_file(f"[components.x.options]\nv = {nest}\n".encode()) as path:
            loads(config_file=path)
    elif where == "set":
        loads(overrides=[f"components.x.options.v={nest}"])
    else:
        with environment("SYMPHONY_COMPONENTS__X__OPTIONS", '{"v": ' + nest + "}"):
            loads()
