"""Meta-tests: the documentation keeps up with the hook catalogue and the README's form."""

from __future__ import annotations

import re
from pathlib import Path

from symphony.hookspecs import hooks

ROOT = Path(__file__).resolve().parents[1]


def hook_names() -> list[str]:
    return sorted(name for name in vars(hooks) if name.startswith("symphony_"))


def test_every_hook_has_a_reference_entry() -> None:
    text = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^## `(symphony_\w+)`$", text, flags=re.M))
    assert documented == set(hook_names())


def test_every_hookspec_documents_itself() -> None:
    for name in hook_names():
        docstring = getattr(hooks, name).__doc__ or ""
        assert "Since:" in docstring and len(docstring.split()) > 8, name


def test_the_readme_quick_start_has_run_then_test_as_two_sh_blocks() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert blocks == ["bash scripts/quickstart.sh\n", "bash scripts/test.sh\n"]
    assert all((ROOT / block.split()[1]).is_file() for block in blocks)


def test_every_test_the_sandbox_escape_matrix_names_exists() -> None:
    """The matrix is the security promise: a row whose test was renamed or removed proves nothing."""
    text = (ROOT / "docs" / "sandbox-subprocess.md").read_text(encoding="utf-8")
    matrix = text.split("## Sandbox escape matrix", 1)[1]
    defined = {
        name
        for path in (ROOT / "tests").rglob("*.py")
        for name in re.findall(r"^\s*(?:async )?def (test_\w+)", path.read_text(encoding="utf-8"), flags=re.M)
    }
    named = set(re.findall(r"\b(test_\w+)\b(?!\.py)", matrix))
    assert named, "the matrix names no test"
    assert sorted(named - defined) == []


def test_every_relative_link_in_the_docs_points_at_a_file() -> None:
    missing = [
        f"{page.name}: {target}"
        for page in (ROOT / "docs").glob("*.md")
        for target in re.findall(r"\]\(([^):#]+\.md)(?:#[^)]*)?\)", page.read_text(encoding="utf-8"))
        if not (page.parent / target).is_file()
    ]
    assert missing == []
