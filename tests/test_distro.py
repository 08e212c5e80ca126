"""Distribution profiles, with the sample distribution really installed, and its journaling editor.

The CLI runs as a subprocess over pip-installed sites (see ``conftest.py``); the editor is
imported from the installed sample distribution, so the wheel's contents are what is tested.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from symphony.hookspecs import BufferId, NotFoundError, ValidationError
from symphony.hookspecs.ports import Position, TextEdit, TextEditingPort

if TYPE_CHECKING:  # pytest imports conftest itself; annotations only need the names
    from tests.conftest import Installer, Symphony

pytestmark = pytest.mark.slow  # every test here installs distributions


@pytest.fixture
def sample(installer: Installer, symphony: Any) -> Symphony:
    """The CLI over a site holding only the sample distribution."""
    runner: Symphony = symphony(installer.site("sample"))
    return runner


@pytest.fixture
def two_distros(installer: Installer, symphony: Any) -> Symphony:
    """The CLI over a site holding the sample distribution and a second profile."""
    runner: Symphony = symphony(installer.site("two-distros"))
    return runner


def effective_settings(cli: Symphony, *overrides: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """The effective settings as ``symphony config show --json`` reports them, flattened to the keys tested."""
    sets = [arg for item in overrides for arg in ("--set", item)]
    shown = cli.json(*sets, "config", "show", env=env)
    settings = shown["settings"]
    return {
        "distro": shown["distro"],
        "hooks.timeout": settings["hooks"]["timeout"],
        "sandbox.policy": settings["sandbox"]["policy"],
        "plugins.block": settings["plugins"]["block"],
        "ports": settings["ports"],
    }


def assert_one_line_error(result: Any, *mentions: str) -> str:
    """The run failed with a single ``Error: ...`` line on stderr naming ``mentions``, and no traceback."""
    assert result.returncode != 0, result.stdout
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for mention in mentions:
        assert mention in lines[0]
    message: str = lines[0]
    return message


# -- one installed profile ------------------------------------------------------------------


def test_single_installed_profile_is_selected(sample: Symphony) -> None:
    shown = sample.json("distro", "show")

    assert shown["name"] == "sample"
    assert (shown["distribution"], shown["version"]) == ("symphony-sample-distro", "0.1.0")
    assert "only installed" in shown["reason"]
    assert shown["candidates"] == ["sample"]


def test_profile_blocks_the_builtin_editor(sample: Symphony) -> None:
    records = {record["name"]: record for record in sample.json("plugins", "list")}

    assert records["editor"]["status"] == "blocked"
    assert records["editor"]["distribution"] == "symphony-builtins"
    assert records["sample-editor"]["status"] == "loaded"
    assert records["sample-editor"]["distribution"] == "symphony-sample-distro"


def test_profile_provider_serves_text_editing(sample: Symphony) -> None:
    health = sample.json("doctor")

    assert health["distro"] == "sample"
    report = next(p for p in health["ports"] if p["port"] == "text_editing")
    assert (report["provider"], report["type"]) == ("sample-editor", "JournalingEditor")
    assert health["checks"]["sample-editor"]["status"] == "ok"
    assert "editor" not in health["checks"]  # the blocked builtin's check is gone too


def test_distro_show_lists_the_defaults_the_profile_changes(sample: Symphony) -> None:
    changes = sample.json("distro", "show")["changes"]

    assert changes == {
        "hooks": {"timeout": 5.0},
        "plugins": {"block": ["editor"]},
        "ports": {"text_editing": "sample-editor"},
        "sandbox": {"policy": "strict"},
    }


def test_profile_defaults_become_the_effective_settings(sample: Symphony) -> None:
    settings = effective_settings(sample)

    assert settings == {
        "distro": "sample",
        "hooks.timeout": 5.0,
        "sandbox.policy": "strict",
        "plugins.block": ["editor"],
        "ports": {"text_editing": "sample-editor"},
    }


@pytest.mark.parametrize(
    ("overrides", "env"),
    [(["hooks.timeout=7"], {}), ([], {"SYMPHONY_HOOKS__TIMEOUT": "7"})],
    ids=["--set", "environment"],
)
def test_user_setting_beats_the_profile_default(sample: Symphony, overrides: list[str], env: dict[str, str]) -> None:
    settings = effective_settings(sample, *overrides, env=env)

    assert settings["hooks.timeout"] == 7.0
    assert settings["sandbox.policy"] == "strict"  # the rest of the profile still applies


# -- several installed profiles -------------------------------------------------------------


@pytest.mark.parametrize("command", [["plugins", "list"], ["doctor"], ["distro", "show"]], ids=" ".join)
def test_several_profiles_and_none_selected_is_a_one_line_error(two_distros: Symphony, command: list[str]) -> None:
    result = two_distros.run(*command)

    message = assert_one_line_error(result, "sample", "second", "none is selected", "--set distro=")
    assert "Traceback" not in result.stderr, message


@pytest.mark.parametrize(
    ("name", "how"),
    [("sample", "--set"), ("second", "environment")],
)
def test_distro_setting_selects_one_of_several_profiles(two_distros: Symphony, name: str, how: str) -> None:
    if how == "--set":
        shown = two_distros.json("--set", f"distro={name}", "distro", "show")
    else:
        shown = two_distros.json("distro", "show", env={"SYMPHONY_DISTRO": name})

    assert shown["name"] == name
    assert "`distro` setting" in shown["reason"]
    assert shown["candidates"] == ["sample", "second"]


def test_unknown_distro_setting_is_an_error_naming_the_installed_profiles(two_distros: Symphony) -> None:
    result = two_distros.run("--set", "distro=nope", "distro", "show")

    assert_one_line_error(result, "'nope'", "installed profiles: sample, second")


# -- the journaling editor, in process --------------------------------------------------------


@pytest.fixture
def journal_module(installer: Installer, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """``symphony_sample_distro.journal`` imported from the installed wheel, forgotten afterwards."""
    site = installer.site("sample")
    monkeypatch.syspath_prepend(str(site))
    import symphony_sample_distro.journal as module

    assert Path(module.__file__ or "").is_relative_to(site)
    yield module
    for name in [n for n in sys.modules if n == "symphony_sample_distro" or n.startswith("symphony_sample_distro.")]:
        del sys.modules[name]


def edit(line: int, character: int, end_line: int, end_character: int, text: str) -> TextEdit:
    return TextEdit(
        start=Position(line=line, character=character), end=Position(line=end_line, character=end_character), text=text
    )


def test_journaling_editor_opens_edits_and_saves_a_file(journal_module: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello world\nsecond line\n", encoding="utf-8")
    editor = journal_module.JournalingEditor()
    assert isinstance(editor, TextEditingPort)

    async def scenario() -> tuple[str, list[bool], list[bool]]:
        buffer = await editor.open_file(path)
        assert await editor.open_file(path) == buffer  # one buffer per file
        await editor.edit_text(buffer, edit(0, 6, 0, 11, "Symphony"))
        await editor.edit_text(buffer, edit(1, 0, 1, 0, "a "))
        dirty_before = [info.dirty for info in await editor.list_buffers()]
        await editor.save_buffer(buffer)
        dirty_after = [info.dirty for info in await editor.list_buffers()]
        return await editor.get_buffer_content(buffer), dirty_before, dirty_after

    content, dirty_before, dirty_after = asyncio.run(scenario())

    assert content == "hello Symphony\na second line\n"
    assert path.read_text(encoding="utf-8") == content
    assert (dirty_before, dirty_after) == ([True], [False])
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]  # no temporary file left behind


def test_journaling_editor_normalises_crlf_to_lf(journal_module: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "dos.txt"
    path.write_bytes(b"one\r\ntwo\rthree\r\n")
    editor = journal_module.JournalingEditor()

    async def scenario() -> str:
        buffer = await editor.open_file(path)
        await editor.edit_text(buffer, edit(1, 3, 1, 3, "!"))
        await editor.save_buffer(buffer)
        content: str = await editor.get_buffer_content(buffer)
        return content

    assert asyncio.run(scenario()) == "one\ntwo!\nthree\n"
    assert path.read_bytes() == b"one\ntwo!\nthree\n"


def test_journaling_editor_journals_every_edit_and_can_undo(journal_module: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("abc", encoding="utf-8")
    editor = journal_module.JournalingEditor()

    async def scenario() -> tuple[BufferId, str]:
        buffer = await editor.open_file(path)
        await editor.edit_text(buffer, edit(0, 1, 0, 2, "XY\nZ"))
        await editor.edit_text(buffer, edit(1, 1, 1, 2, ""))
        assert await editor.get_buffer_content(buffer) == "aXY\nZ"
        assert await editor.undo(buffer)
        return buffer, await editor.get_buffer_content(buffer)

    buffer, content = asyncio.run(scenario())

    assert content == "aXY\nZc"
    journal = editor.journal(buffer)
    assert [(e.kind, e.removed, e.inserted, e.version) for e in journal] == [
        ("edit", "b", "XY\nZ", 1),
        ("edit", "c", "", 2),
        ("undo", "", "c", 3),
    ]
    assert all(e.path == str(path.resolve()) for e in journal)


def test_journaling_editor_redoes_notifies_subscribers_and_refuses_stale_revisions(
    journal_module: ModuleType, tmp_path: Path
) -> None:
    path = tmp_path / "c.txt"
    path.write_text("a😀b", encoding="utf-8")
    editor = journal_module.JournalingEditor()
    seen: list[tuple[int, str | None]] = []

    async def scenario() -> str:
        buffer = await editor.open_file(path)
        editor.subscribe(buffer, lambda change: seen.append((change.revision, change.client)))
        assert await editor.edit_text(buffer, edit(0, 3, 0, 4, "B"), revision=0, client="ann") == 1  # 😀 is 2 units
        with pytest.raises(ValidationError, match="current revision is 1"):
            await editor.edit_text(buffer, edit(0, 0, 0, 0, "x"), revision=0)
        assert await editor.undo(buffer) == 2
        assert await editor.redo(buffer) == 3
        text: str = await editor.get_buffer_content(buffer)
        return text

    assert asyncio.run(scenario()) == "a😀B"
    assert seen == [(1, "ann"), (2, None), (3, None)]


def test_journaling_editor_rejects_bad_ranges_and_closed_buffers(journal_module: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "b.txt"
    path.write_text("short\n", encoding="utf-8")
    editor = journal_module.JournalingEditor()

    async def scenario() -> None:
        buffer = await editor.open_file(path)
        with pytest.raises(ValidationError, match="Character 9"):
            await editor.edit_text(buffer, edit(0, 9, 0, 9, "x"))
        with pytest.raises(ValidationError, match="Line 5"):
            await editor.edit_text(buffer, edit(5, 0, 5, 0, "x"))
        with pytest.raises(ValidationError, match="ends before it starts"):
            await editor.edit_text(buffer, edit(0, 3, 0, 1, "x"))
        await editor.close_buffer(buffer)
        assert await editor.list_buffers() == []
        with pytest.raises(NotFoundError):
            await editor.get_buffer_content(buffer)
        with pytest.raises(NotFoundError):
            await editor.close_buffer(buffer)

    asyncio.run(scenario())
    assert editor.journal() == []  # rejected edits are not journaled
    assert path.read_text(encoding="utf-8") == "short\n"


def test_a_users_block_list_adds_to_the_profiles_blocks(sample: Symphony) -> None:
    plugins = sample.json("--set", 'plugins.block=["codecs"]', "plugins", "list")
    status = {plugin["name"]: plugin["status"] for plugin in plugins}

    assert status["editor"] == "blocked" and status["codecs"] == "blocked"
