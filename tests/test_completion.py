"""Shell completion through click's ``_SYMPHONY_COMPLETE``, run as the shell runs it: the real ``symphony`` script.

Plugin commands (``run``, ``runs``, ``workflow``, ``bus``, ``conductor``) are
contributed at run time, so these tests also prove completion loads them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Final

BIN: Final = Path(sys.executable).parent
SYMPHONY: Final = str(BIN / "symphony")


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "SYMPHONY_DATA_DIR": str(tmp_path / "data"),
        "SYMPHONY_CACHE_DIR": str(tmp_path / "cache"),
        **extra,
    }


def complete(tmp_path: Path, line: str) -> list[str]:
    """The bash candidates for ``line``; the word being completed is its last (empty after a space)."""
    words = line.split(" ")
    env = environment(tmp_path, COMP_WORDS=line, COMP_CWORD=str(len(words) - 1), _SYMPHONY_COMPLETE="bash_complete")
    result = subprocess.run([SYMPHONY], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return [row.partition(",")[2] for row in result.stdout.splitlines()]


def test_top_level_offers_builtin_and_plugin_commands(tmp_path: Path) -> None:
    candidates = complete(tmp_path, "symphony ")
    builtin = {"audit", "config", "distro", "doctor", "ext", "plugins"}
    assert {"run", "runs", "workflow", "bus", "conductor"} | builtin <= set(candidates)


def test_a_prefix_completes_to_a_plugin_command(tmp_path: Path) -> None:
    assert complete(tmp_path, "symphony wor") == ["workflow"]


def test_a_plugin_group_offers_its_own_subcommands(tmp_path: Path) -> None:
    assert complete(tmp_path, "symphony workflow ") == ["convert", "show", "validate"]


def test_a_plugin_subcommand_offers_its_options(tmp_path: Path) -> None:
    assert {"--to", "--output"} <= set(complete(tmp_path, "symphony workflow convert --"))


def test_an_option_offers_its_choices(tmp_path: Path) -> None:
    assert complete(tmp_path, "symphony workflow convert x.toml --to ") == ["toml", "json", "json-pretty", "msgpack"]


def test_a_builtin_group_offers_its_subcommands(tmp_path: Path) -> None:
    assert {"invoke", "ps", "grant", "list"} <= set(complete(tmp_path, "symphony ext "))


def test_a_settings_file_that_breaks_the_host_still_completes_builtins_quietly(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("x = [\n")
    assert complete(tmp_path, "symphony --config bad.toml con") == ["config"]


def test_the_bash_script_click_generates_completes_plugin_subcommands(tmp_path: Path) -> None:
    script = (
        'eval "$(_SYMPHONY_COMPLETE=bash_source symphony)"\n'
        'COMP_WORDS=(symphony runs ""); COMP_CWORD=2\n'
        "_symphony_completion symphony\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = subprocess.run(
        ["bash", "-c", script], env=environment(tmp_path), capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert {"list", "show", "resume", "cancel"} <= set(result.stdout.split())


def shell_candidates(tmp_path: Path, shell: str, cword: str) -> list[str]:
    env = environment(tmp_path, COMP_WORDS="symphony ru", COMP_CWORD=cword, _SYMPHONY_COMPLETE=f"{shell}_complete")
    result = subprocess.run([SYMPHONY], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_zsh_completion_offers_plugin_commands(tmp_path: Path) -> None:
    assert "runs" in shell_candidates(tmp_path, "zsh", "1")


def test_fish_completion_offers_plugin_commands(tmp_path: Path) -> None:
    assert any(row.partition("\t")[0] == "plain,runs" for row in shell_candidates(tmp_path, "fish", "ru"))
