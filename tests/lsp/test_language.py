"""The language port over a real jedi-language-server: diagnostics, completion, hover and definitions of buffers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from symphony.hookspecs import LanguageServerError, NotFoundError, ValidationError
from symphony.hookspecs.ports import Position, TextEdit

from .conftest import Workspace, eventually


def end_of(text: str) -> Position:
    """The position after the last character of ``text``, in UTF-16 code units as LSP counts them."""
    lines = text.split("\n")
    return Position(line=len(lines) - 1, character=len(lines[-1].encode("utf-16-le")) // 2)


async def test_a_syntax_error_is_reported_and_pushed_as_an_event(workspace: Workspace) -> None:
    buffer_id = await workspace.open("broken.py", "def f(:\n    pass\n")
    found = await workspace.language.diagnostics(buffer_id)
    assert [(d.severity, d.start.line, d.source) for d in found] == [("error", 0, "compile")]
    assert "SyntaxError" in found[0].message
    await eventually(lambda: any(e.data["buffer_id"] == buffer_id for e in workspace.events.diagnostics))
    event = next(e for e in workspace.events.diagnostics if e.data["buffer_id"] == buffer_id)
    assert event.source == "lsp"
    assert event.data["path"] == str(workspace.root / "broken.py")
    assert event.data["revision"] == 0
    assert event.data["diagnostics"][0]["message"] == found[0].message


async def test_an_edit_that_fixes_the_error_clears_the_diagnostics(workspace: Workspace) -> None:
    buffer_id = await workspace.open("broken.py", "def f(:\n    pass\n")
    assert await workspace.language.diagnostics(buffer_id)
    fix = TextEdit(start=Position(line=0, character=6), end=Position(line=0, character=7), text="):")
    revision = await workspace.editing.edit_text(buffer_id, fix)
    assert await workspace.language.diagnostics(buffer_id) == []
    await eventually(
        lambda: any(
            e.data["buffer_id"] == buffer_id and e.data["revision"] == revision and e.data["diagnostics"] == []
            for e in workspace.events.diagnostics
        )
    )


async def test_completion_offers_the_attributes_of_a_real_module(workspace: Workspace) -> None:
    text = "import os\nos.pa"
    buffer_id = await workspace.open("use_os.py", text)
    items = await workspace.language.completions(buffer_id, end_of(text))
    assert "path" in [item.label for item in items]
    assert all(item.label.lower().startswith("pa") for item in items)
    assert next(item for item in items if item.label == "path").kind in ("module", "variable")  # jedi says either


async def test_completion_follows_edits_made_after_the_buffer_was_opened(workspace: Workspace) -> None:
    buffer_id = await workspace.open("grow.py", "import json\n")
    assert await workspace.language.diagnostics(buffer_id) == []  # open in the server first
    await workspace.editing.edit_text(
        buffer_id, TextEdit(start=Position(line=1, character=0), end=Position(line=1, character=0), text="json.du")
    )
    items = await workspace.language.completions(buffer_id, Position(line=1, character=7))
    assert {"dump", "dumps"} <= {item.label for item in items}


async def test_completion_after_typing_one_character_at_a_time(workspace: Workspace) -> None:
    buffer_id = await workspace.open("typed.py", "")
    assert await workspace.language.diagnostics(buffer_id) == []  # open in the server first
    typed = "import json\nnote = '😀'; json.du"
    line, column = 0, 0
    for char in typed:
        here = Position(line=line, character=column)
        await workspace.editing.edit_text(buffer_id, TextEdit(start=here, end=here, text=char))
        line, column = (line + 1, 0) if char == "\n" else (line, column + len(char.encode("utf-16-le")) // 2)
    items = await workspace.language.completions(buffer_id, Position(line=line, character=column))
    assert {"dump", "dumps"} <= {item.label for item in items}


async def test_non_ascii_before_the_cursor_is_counted_in_utf16_code_units(workspace: Workspace) -> None:
    # Two emoji (two UTF-16 units each) and CJK (one each): a cursor counted in code points would land
    # three characters further, past "os.pa" and into the spaces, where nothing starting "pa" is offered.
    text = 'import os\nnote = "😀漢字😀"; os.pa   '
    buffer_id = await workspace.open("unicode.py", text)
    cursor = Position(line=1, character=len('note = "😀漢字😀"; os.pa'.encode("utf-16-le")) // 2)
    items = await workspace.language.completions(buffer_id, cursor)
    assert "path" in [item.label for item in items]
    assert all(item.label.lower().startswith("pa") for item in items)


async def test_hover_describes_the_symbol_under_the_cursor(workspace: Workspace) -> None:
    buffer_id = await workspace.open("hover.py", "import json\njson.dumps\n")
    text = await workspace.language.hover(buffer_id, Position(line=1, character=7))
    assert text is not None
    assert "dumps" in text
    assert "JSON" in text  # from json.dumps's docstring


async def test_hover_over_nothing_is_none(workspace: Workspace) -> None:
    buffer_id = await workspace.open("blank.py", "\n\n")
    assert await workspace.language.hover(buffer_id, Position(line=1, character=0)) is None


async def test_definition_leads_into_the_real_file_that_defines_the_symbol(workspace: Workspace) -> None:
    buffer_id = await workspace.open("define.py", "import json\njson.dumps\n")
    (location,) = await workspace.language.definition(buffer_id, Position(line=1, character=7))
    assert Path(location.path).resolve() == Path(json.__file__).resolve()
    line = Path(location.path).read_text(encoding="utf-8").splitlines()[location.start.line]
    assert line.startswith("def dumps(")


async def test_definition_in_the_same_buffer(workspace: Workspace) -> None:
    buffer_id = await workspace.open("local.py", "def helper():\n    return 1\n\nhelper()\n")
    (location,) = await workspace.language.definition(buffer_id, Position(line=3, character=2))
    assert location.path == str(workspace.root / "local.py")
    assert (location.start.line, location.start.character) == (0, 4)


async def test_a_position_outside_the_buffer_is_a_validation_error(workspace: Workspace) -> None:
    buffer_id = await workspace.open("short.py", "x = '😀'\n")
    with pytest.raises(ValidationError, match=r"Character 9 is outside line 0 \(0\.\.8 UTF-16 code units\)"):
        await workspace.language.completions(buffer_id, Position(line=0, character=9))
    with pytest.raises(ValidationError, match="Line 5 is outside the buffer"):
        await workspace.language.hover(buffer_id, Position(line=5, character=0))


async def test_an_unknown_buffer_is_not_found(workspace: Workspace) -> None:
    with pytest.raises(NotFoundError, match="No open buffer 'nope'"):
        await workspace.language.diagnostics("nope")  # type: ignore[arg-type]


async def test_a_closed_buffer_is_no_longer_served(workspace: Workspace) -> None:
    buffer_id = await workspace.open("gone.py", "x = 1\n")
    assert await workspace.language.diagnostics(buffer_id) == []
    await workspace.editing.close_buffer(buffer_id)
    with pytest.raises(NotFoundError):
        await workspace.language.hover(buffer_id, Position(line=0, character=0))


async def test_a_file_of_an_unknown_language_is_a_language_server_error_saying_what_to_configure(
    workspace: Workspace,
) -> None:
    buffer_id = await workspace.open("notes.rs", "fn main() {}\n")
    with pytest.raises(LanguageServerError) as raised:
        await workspace.language.completions(buffer_id, Position(line=0, character=0))
    message = str(raised.value)
    assert "No language server is configured for" in message and "notes.rs" in message and "'.rs'" in message
    assert "[components.lsp.options.servers.<language>]" in message


async def test_a_diagnostic_after_an_emoji_is_placed_in_utf16_code_units(workspace: Workspace) -> None:
    buffer_id = await workspace.open("emoji_error.py", 'x = "😀😀" $ 1\n')
    (found,) = await workspace.language.diagnostics(buffer_id)
    dollar = len('x = "😀😀" '.encode("utf-16-le")) // 2  # 11; the code-point column would be 9
    assert (found.start.character, found.end.character) == (dollar, dollar + 1)
