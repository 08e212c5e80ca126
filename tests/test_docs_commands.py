"""Every ``symphony`` command the README and docs/ show runs as shown (like pytest's doctest of its examples).

Each page is one session, in a fresh directory holding a copy of ``examples/``
and its own data, cache and site directories:

- fenced ``sh`` blocks: each line starting with ``symphony`` (an environment
  assignment may precede it) must exit 0; ``export NAME=VALUE`` lines set the
  environment of the page's later commands (but an absolute path, the
  reader's own, leaves the session's directories in place); ``pip install PATH...`` installs
  into the page's site directory (offline, no dependencies); other lines
  (``eval``, ``python``) are prose for the reader and are not run;
- fenced ``console`` blocks: ``$ COMMAND`` lines, and the lines below each one
  are its output: each must appear in what the command printed (whitespace
  collapsed, since terminals wrap; ``...`` or ``…`` stands for anything).
  Output starting ``Error:`` or ``Usage:`` means the command must fail, with
  that message and no traceback; otherwise it must exit 0;
- an HTML comment right above a fence says more: ``<!-- docs-test: file PATH -->``
  makes the block the content of PATH in the page's directory;
  ``<!-- docs-test: skip REASON -->`` leaves the block out, with its reason.

:data:`SKIPPED` lists blocks of pages whose owners have not marked them yet,
each with the reason.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent

#: (page, text of the block's first line) -> why the block is not run.  Keep it short.
SKIPPED: dict[tuple[str, str], str] = {
    ("cli.md", "# bash: add to ~/.bashrc"): "writes the user's shell"
    " configuration; tests/test_completion.py runs each shell's completion",
    ("configuration.md", "$ symphony --set hooks.timeout=-1 doctor"): "needs the broken symphony.toml that a"
    " comment describes; tests/test_settings.py checks each message",
    (
        "configuration.md",
        "$ SYMPHONY_HOOKS__PROFILE=true symphony --set components.dag.options.max_concurrency=4 config show --origin",
    ): "shows a user's own paths and settings file; tests/test_settings.py checks origins",
    ("configuration.md", "$ symphony --config deep.toml doctor"): "needs a settings file nested 65 levels deep;"
    " tests/test_parser_limits.py writes one",
    ("runs.md", "symphony conductor serve --unix /tmp/conductor.sock &"): "a conductor and a subscriber in the"
    " background; tests/conductor/ runs them",
    ("runs.md", "$ dask scheduler                       # prints: Scheduler at: tcp://10.0.0.5:8786"): "needs a"
    " Dask cluster on other machines; tests/dag/ run one on loopback",
    (
        "workflows.md",
        "symphony --set 'components.workflow.options={max_nodes = 20000, timeout = 0.5}' workflow validate big.toml",
    ): "needs a 20,000-node workflow; tests/test_parser_limits.py makes one",
}

_FENCE = re.compile(
    r"(?P<marks>(?:^<!-- docs-test: [^\n]*-->\n)*)^(?P<indent> *)```(?P<lang>\w*)\n(?P<body>.*?)^(?P=indent)```$",
    re.S | re.M,
)
_MARK = re.compile(r"<!-- docs-test: (\w+) ?(.*?) ?-->")
_COMMENT = re.compile(r"\s{2,}#.*$")
_ASSIGNMENT = r"(?:[A-Z_][A-Z0-9_]*=(?:'[^']*'|\"[^\"]*\"|\S+) )*"


@dataclass
class Command:
    line: str
    output: list[str] = field(default_factory=list)

    @property
    def fails(self) -> bool:
        return bool(self.output) and self.output[0].startswith(("Error:", "Usage:"))


@dataclass
class Block:
    line: int
    lang: str
    body: str
    file: str | None = None
    skip: str | None = None


def blocks(page: Path) -> Iterator[Block]:
    text = page.read_text(encoding="utf-8")
    for match in _FENCE.finditer(text):
        body = textwrap.dedent(match["body"])
        block = Block(text[: match.start("lang")].count("\n") + 1, match["lang"], body)
        for kind, value in _MARK.findall(match["marks"]):
            if kind == "file":
                block.file = value
            elif kind == "skip":
                block.skip = value or "marked skip"
            else:
                raise AssertionError(f"{page.name}:{block.line}: unknown docs-test marker {kind!r}")
        first = block.body.splitlines()[0] if block.body else ""
        block.skip = block.skip or SKIPPED.get((page.name, first))
        yield block


def _logical_lines(body: str) -> list[str]:
    return body.replace("\\\n", " ").splitlines()


def commands(block: Block) -> list[Command]:
    """The commands of a block to run, with the output a console block shows for each."""
    found: list[Command] = []
    if block.lang == "console":
        current: Command | None = None
        for line in _logical_lines(block.body):
            if line.startswith("$ "):
                command = _COMMENT.sub("", line[2:]).strip()
                current = Command(command) if re.match(rf"{_ASSIGNMENT}symphony\b", command) else None
                found += [current] if current else []
            elif current and line.strip():
                current.output.append(line.strip())
    elif block.lang == "sh":
        for line in _logical_lines(block.body):
            command = _COMMENT.sub("", line).strip()
            if re.match(rf"{_ASSIGNMENT}symphony\b|export |pip install (-e )?\.?/?[\w-]+/", command + "/"):
                found.append(Command(command))
    return found


def page_cases() -> Iterator[object]:
    for page in PAGES:
        runnable = [b for b in blocks(page) if not b.skip and (b.file or commands(b))]
        if runnable:
            installs = any(c.line.startswith("pip install") for b in runnable for c in commands(b))
            marks = [pytest.mark.slow] if installs else []
            yield pytest.param(page, id=page.relative_to(ROOT).as_posix(), marks=marks)


class Session:
    """One page's directory and environment."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.work = home / "work"
        shutil.copytree(ROOT / "examples", self.work / "examples")
        self.site = home / "site"
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("SYMPHONY_")}
        self.env.pop("PYTHONPATH", None)
        self.env.update(
            HOME=str(home),
            PATH=f"{BIN}{os.pathsep}{self.env.get('PATH', '')}",
            SYMPHONY_DATA_DIR=str(home / "data"),
            SYMPHONY_CACHE_DIR=str(home / "cache"),
            PYTHONPATH=str(self.site),
            COLUMNS="200",
            NO_COLOR="1",
        )

    def write(self, path: str, text: str) -> None:
        target = self.work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def run(self, command: Command, where: str) -> None:
        if command.line.endswith("&"):
            pytest.fail(f"{where}: `{command.line}` runs in the background; mark its block docs-test: skip")
        if command.line.startswith("export "):
            for assignment in shlex.split(command.line)[1:]:
                name, _, value = assignment.partition("=")
                if not value.startswith("/"):  # the reader's own paths: the session keeps its directories
                    self.env[name] = value
            return
        if command.line.startswith("pip install "):
            self._pip(command.line, where)
            return
        result = subprocess.run(
            ["bash", "-c", command.line],
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        printed = f"{result.stdout}\n{result.stderr}"
        shown = f"{where}: $ {command.line}\nexit {result.returncode}\n{printed}"
        assert "Traceback" not in printed, shown
        if command.fails:
            assert result.returncode != 0, f"the docs show an error, but it succeeded:\n{shown}"
        else:
            assert result.returncode == 0, shown
        flat = " ".join(printed.split())
        for expected in command.output:
            assert re.search(_pattern(expected), flat), f"the docs show {expected!r}, which is not in:\n{shown}"

    def _pip(self, line: str, where: str) -> None:
        args = [a for a in shlex.split(line)[2:] if a != "-e"]
        paths = [str(p if (p := self.work / a).exists() else ROOT / a) for a in args]
        command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index"]
        command += ["--quiet", "--disable-pip-version-check", "--target", str(self.site), *paths]
        result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
        assert result.returncode == 0, f"{where}: $ {line}\n{result.stdout}\n{result.stderr}"


def _pattern(expected: str) -> str:
    """``expected`` as a regex: ``...`` matches anything, and run ids and timings match any."""
    pattern = r".*?".join(re.escape(" ".join(part.split())) for part in re.split(r"\.\.\.|…", expected))
    pattern = re.sub(r"[0-9a-f]{32}", "[0-9a-f]{32}", pattern)
    return re.sub(r"\d+(?:\\\.\d+)?(\\ (?:ms|s)\b)", r"[\\d.]+\1", pattern)


@pytest.mark.parametrize("page", list(page_cases()))
def test_every_command_in_the_docs_runs_as_shown(page: Path, tmp_path: Path) -> None:
    session = Session(tmp_path)
    for block in blocks(page):
        if block.skip:
            continue
        where = f"{page.relative_to(ROOT)}:{block.line}"
        if block.file:
            session.write(block.file, block.body)
            continue
        for command in commands(block):
            session.run(command, where)


def test_every_skipped_block_says_why() -> None:
    unexplained = [
        f"{page.name}:{block.line}" for page in PAGES for block in blocks(page) if block.skip == "marked skip"
    ]
    assert unexplained == []


def test_every_skip_list_entry_still_names_a_block() -> None:
    """A block whose first line changed is run again, so its entry must go (or follow it)."""
    firsts = {(page.name, block.body.splitlines()[0]) for page in PAGES for block in blocks(page) if block.body.strip()}
    assert sorted(set(SKIPPED) - firsts) == []
