"""``symphony registry`` commands: clear refusals, and changes a running server serves at once."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx

from .conftest import RegistryServer, make_publisher, publish_wheel, run_symphony
from .wheels import make_extension_wheel


def test_init_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "something").write_text("mine")
    result = run_symphony("registry", "init", tmp_path, check=False)
    assert result.returncode == 1
    assert "is not empty" in result.stderr
    assert [path.name for path in tmp_path.iterdir()] == ["something"]


def test_init_where_no_directory_can_be_made_says_so_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("mine")
    result = run_symphony("registry", "init", tmp_path / "a-file" / "index", check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"Cannot create a registry in {tmp_path / 'a-file' / 'index'}: Not a directory (" in result.stderr


def test_serve_asks_for_passwords_or_no_auth(tmp_path: Path) -> None:
    run_symphony("registry", "init", tmp_path / "index")
    result = run_symphony("registry", "serve", tmp_path / "index", check=False)
    assert result.returncode == 2
    assert "--passwords FILE" in result.stderr


def test_serve_with_a_passwords_file_that_is_not_htpasswd_says_what_it_should_hold(tmp_path: Path) -> None:
    run_symphony("registry", "init", tmp_path / "index")
    (tmp_path / "passwords").write_text("not an htpasswd line\n")
    result = run_symphony("registry", "serve", tmp_path / "index", "--passwords", tmp_path / "passwords", check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{tmp_path / 'passwords'} is not an htpasswd file" in result.stderr and "USER:HASH" in result.stderr


def test_serve_on_a_directory_that_is_not_a_registry_says_how_to_make_one(tmp_path: Path) -> None:
    result = run_symphony("registry", "serve", tmp_path, "--no-auth", check=False)
    assert result.returncode == 1
    assert "symphony registry init" in result.stderr


def test_serve_on_a_port_in_use_says_so_in_one_line(tmp_path: Path) -> None:
    run_symphony("registry", "init", tmp_path / "index")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_symphony("registry", "serve", tmp_path / "index", "--no-auth", "--port", str(port), check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"Cannot listen on 127.0.0.1:{port}: Address already in use. Choose another --port" in result.stderr


def test_metadata_changed_outside_symphony_is_a_clear_error(tmp_path: Path) -> None:
    run_symphony("registry", "init", tmp_path / "index")
    (tmp_path / "index" / "tuf" / "timestamp.json").write_text("{not json")
    result = run_symphony("registry", "keys", "list", tmp_path / "index", check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "timestamp.json is not valid TUF metadata" in result.stderr and "Restore the registry" in result.stderr


def test_a_publisher_added_with_the_cli_is_served_while_the_server_runs(
    registry_server: RegistryServer, tmp_path: Path
) -> None:
    newcomer = make_publisher(tmp_path, "Newcomer Inc")
    run_symphony("registry", "publisher", "add", registry_server.dir, newcomer.name, newcomer.public)
    directory = json.loads(httpx.get(f"{registry_server.url}publishers.json").content)
    assert directory["publishers"]["Newcomer Inc"]["keys"] == [newcomer.public]


def test_a_publisher_key_that_is_not_ed25519_is_refused(registry_server: RegistryServer) -> None:
    result = run_symphony("registry", "publisher", "add", registry_server.dir, "Someone", "rsa:AAAA", check=False)
    assert result.returncode == 1
    assert "should start with 'ed25519:'" in result.stderr


def test_yank_with_the_cli_names_the_files(registry_server: RegistryServer, tmp_path: Path) -> None:
    wheel = make_extension_wheel(
        tmp_path, distribution="cli-yank", version="1.0.0", extension="cli-yank", publisher="X"
    )
    publish_wheel(registry_server, wheel)
    result = run_symphony("registry", "yank", registry_server.dir, "cli-yank", "1.0.0", "--reason", "oops")
    assert f"Yanked {wheel.name}." in result.stdout


def test_yank_of_an_unknown_release_says_nothing_was_yanked(registry_server: RegistryServer) -> None:
    result = run_symphony("registry", "yank", registry_server.dir, "no-such-thing", "9.9", check=False)
    assert result.returncode == 1
    assert "no release no-such-thing 9.9 on this index" in result.stderr
