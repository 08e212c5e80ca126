"""How the CLI prints for people: one table style within 80 columns, colour only where wanted, -q and -v."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from symphony.host.cli import cli
from symphony.host.cli._output import plain_table, rich_table

if TYPE_CHECKING:  # pytest imports conftest itself; annotations only need the names
    from tests.conftest import Installer, Symphony

SYMPHONY = str(Path(sys.executable).parent / "symphony")


@pytest.fixture(autouse=True)
def private_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setenv("SYMPHONY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SYMPHONY_DATA_DIR", str(tmp_path / "data"))


def on_a_terminal(*args: str, env: dict[str, str], status: int = 0) -> str:
    """Run ``symphony ARGS`` with stdout on a real 80x24 pseudo-terminal; what it wrote there (and on stderr)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")}
    process = subprocess.Popen([SYMPHONY, *args], stdout=follower, stderr=subprocess.PIPE, env={**environment, **env})
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    errors = process.stderr.read().decode() if process.stderr else ""
    assert process.wait(timeout=120) == status, errors
    return b"".join(chunks).decode(errors="replace") + errors


@pytest.mark.parametrize(
    "command",
    [["plugins", "list"], ["ext", "list"], ["ext", "ps"], ["distro", "show"], ["audit"]],
    ids=" ".join,
)
def test_every_listing_fits_80_columns_when_not_on_a_terminal(command: list[str]) -> None:
    result = CliRunner().invoke(cli, command)
    assert result.exit_code in (0, 1), result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80, result.output


def test_tables_have_one_style_a_rule_under_the_header_and_no_borders() -> None:
    lines = CliRunner().invoke(cli, ["plugins", "list"]).output.splitlines()
    assert lines[0] == "Plugins"
    assert lines[1].split() == ["name", "source", "distribution", "version", "status", "hooks", "error"]
    assert set(lines[2]) == {"─"}
    assert not any(line.startswith(("│", "┃", "┏", "└")) or line != line.rstrip() for line in lines)


def test_tables_are_coloured_on_a_terminal(tmp_path: Path) -> None:
    env = {"TERM": "xterm-256color", "SYMPHONY_CACHE_DIR": str(tmp_path / "cache")}
    assert "\x1b[" in on_a_terminal("plugins", "list", env=env)


def test_no_color_turns_colour_off_on_a_terminal(tmp_path: Path) -> None:
    env = {"TERM": "xterm-256color", "NO_COLOR": "1", "SYMPHONY_CACHE_DIR": str(tmp_path / "cache")}
    shown = on_a_terminal("plugins", "list", env=env)
    assert "\x1b[" not in shown and "symphony-core" in shown


def test_a_table_on_a_terminal_fits_its_width(tmp_path: Path) -> None:
    env = {"TERM": "xterm-256color", "NO_COLOR": "1", "SYMPHONY_CACHE_DIR": str(tmp_path / "cache")}
    assert max(len(line) for line in on_a_terminal("plugins", "list", env=env).splitlines()) <= 80


def test_output_into_a_pipe_has_no_escape_codes(tmp_path: Path) -> None:
    env = {**os.environ, "TERM": "xterm-256color", "SYMPHONY_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("NO_COLOR", None)
    shown = subprocess.run([SYMPHONY, "plugins", "list"], capture_output=True, text=True, env=env, check=True)
    assert "\x1b[" not in shown.stdout


def test_quiet_leaves_out_table_titles_but_not_the_rows() -> None:
    lines = CliRunner().invoke(cli, ["--quiet", "plugins", "list"]).output.splitlines()
    assert lines[0].split()[:2] == ["name", "source"] and any(line.startswith("symphony-core") for line in lines)


def test_quiet_and_verbose_together_are_refused() -> None:
    result = CliRunner().invoke(cli, ["-q", "-v", "doctor"])
    assert result.exit_code == 2 and "--quiet and --verbose contradict each other" in result.output


def test_verbose_twice_logs_debug_detail_to_stderr(tmp_path: Path) -> None:
    env = {**os.environ, "SYMPHONY_CACHE_DIR": str(tmp_path / "cache"), "SYMPHONY_DATA_DIR": str(tmp_path / "data")}
    quiet = subprocess.run([SYMPHONY, "doctor"], check=False, capture_output=True, text=True, env=env)
    chatty = subprocess.run([SYMPHONY, "-vv", "doctor"], check=False, capture_output=True, text=True, env=env)
    assert "symphony: DEBUG: " in chatty.stderr and "DEBUG" not in quiet.stderr


def test_binary_output_to_a_terminal_is_refused_unless_written_to_a_file(tmp_path: Path) -> None:
    workflow = Path(__file__).resolve().parents[1] / "examples" / "welcome.toml"
    env = {"SYMPHONY_CACHE_DIR": str(tmp_path / "cache")}
    shown = on_a_terminal("workflow", "convert", str(workflow), "--to", "msgpack", env=env, status=2)
    assert "Error: --to msgpack is binary and would garble the terminal; give -o FILE or pipe it." in shown
    on_a_terminal("workflow", "convert", str(workflow), "--to", "msgpack", "-o", str(tmp_path / "w.msgpack"), env=env)
    assert isinstance(msgspec.msgpack.decode((tmp_path / "w.msgpack").read_bytes()), dict)


def test_binary_output_into_a_pipe_is_written(tmp_path: Path) -> None:
    workflow = Path(__file__).resolve().parents[1] / "examples" / "welcome.toml"
    env = {**os.environ, "SYMPHONY_CACHE_DIR": str(tmp_path / "cache")}
    piped = subprocess.run(
        [SYMPHONY, "workflow", "convert", str(workflow), "--to", "msgpack"], capture_output=True, env=env, check=True
    )
    assert isinstance(msgspec.msgpack.decode(piped.stdout), dict)


@pytest.mark.slow  # installs the test extensions
def test_ext_show_prints_the_manifest_and_the_configuration_in_effect_as_toml(
    installer: Installer, symphony: Callable[..., Symphony]
) -> None:
    ext = symphony(installer.site("extensions"))
    shown = ext.run("ext", "show", "ext-secret", env={"SYMPHONY_SECRET__EXT_SECRET__API_KEY": "sk-0f9e"})
    assert shown.returncode == 0, shown.stderr
    document = tomllib.loads(shown.stdout)
    assert document["extension"]["description"] == "An instrument that needs an API key."
    assert document["configuration"]["api_key"]["secret"] is True
    assert document["extensions"]["config"]["ext-secret"] == {"api_key": "***", "temperature": 0.7}
    assert shown.stdout.startswith("# ext-secret ") and "sk-0f9e" not in shown.stdout


# -- plain tables: rich's output without rich, where that is the same ------------------------------------

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
ASCII = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12)


@st.composite
def tables(draw: st.DrawFn, cells: st.SearchStrategy[str]) -> tuple[str | None, list[str], list[list[str]], int]:
    columns = draw(st.lists(cells, min_size=1, max_size=6))
    rows = draw(st.lists(st.lists(cells, min_size=len(columns), max_size=len(columns)), max_size=5))
    return draw(st.none() | cells), columns, rows, draw(st.integers(10, 120))


# Most text tables are ones the plain path declines (wide or combining characters): filtering is the point here.
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(table=st.one_of(tables(ASCII), tables(TEXT)))
def test_a_plain_table_is_exactly_what_rich_prints_whenever_one_is_made(
    table: tuple[str | None, list[str], list[list[str]], int],
) -> None:
    title, columns, rows, width = table
    plain = plain_table(title, columns, rows, width)
    assume(plain is not None)
    assert plain == rich_table(title, columns, rows, width)


def test_a_plain_table_is_made_for_a_listing_that_fits() -> None:
    rows = [
        ["symphony-core", "essential", "", "", "loaded", "1", ""],
        ["bus", "builtin", "symphony-builtins", "0.1.0", "loaded", "4", ""],
    ]
    columns = ["name", "source", "distribution", "version", "status", "hooks", "error"]
    assert plain_table("Plugins", columns, rows, 80) == rich_table("Plugins", columns, rows, 80)


@pytest.mark.parametrize(
    "cell",
    ["x" * 90, "[bold]x[/bold]", ":thumbs_up:", "wide 表", "tab\there", "line\nbreak"],
    ids=["too-wide", "markup", "emoji", "wide-character", "tab", "newline"],
)
def test_a_table_rich_would_print_otherwise_is_left_to_rich(cell: str) -> None:
    assert plain_table("T", ["a", "b"], [["x", cell]], 80) is None


def test_a_listing_into_a_pipe_does_not_import_rich(tmp_path: Path) -> None:
    env = {**os.environ, "SYMPHONY_CACHE_DIR": str(tmp_path / "cache"), "SYMPHONY_DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "-X", "importtime", SYMPHONY, "plugins", "list"]
    listed = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    assert "symphony-core" in listed.stdout
    assert " rich" not in {line.rpartition("|")[2].rstrip() for line in listed.stderr.splitlines()}
