"""``[components.lsp.options]`` is checked when the host loads: a mistake names its key and what to write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from symphony.hookspecs import ConfigurationError

from .conftest import Events, make_host


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"servers": {"rust": {"comand": ["rust-analyzer"], "suffixes": [".rs"]}}}, "unknown field `comand`"),
        (
            {"servers": {"rust": {"command": ["rust-analyzer"], "suffixes": ["rs"]}}},
            r"components.lsp.options.servers.rust.suffixes must start with a dot, found \['rs'\]",
        ),
        ({"servers": {"rust": {"command": [], "suffixes": [".rs"]}}}, "servers.rust.command is empty"),
        ({"request_timeout": 0}, "components.lsp.options.request_timeout must be above 0 seconds"),
        ({"max_message_bytes": 10}, "max_message_bytes must be at least 1024"),
    ],
    ids=["misspelt-key", "suffix-without-dot", "empty-command", "zero-timeout", "tiny-message-limit"],
)
def test_a_bad_option_fails_the_load_naming_the_key(tmp_path: Path, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make_host(tmp_path, Events(), **options).load()


async def test_a_configured_server_is_added_to_the_default_python_one(tmp_path: Path) -> None:
    rust = {"command": ["no-such-rust-server"], "suffixes": [".rs"]}
    async with make_host(tmp_path, Events(), servers={"rust": rust}) as host:
        editing, language = host.port("text_editing"), host.port("language")
        python = tmp_path / "a.py"
        python.write_text("x = 1\n")
        assert await language.diagnostics(await editing.open_file(python)) == []
