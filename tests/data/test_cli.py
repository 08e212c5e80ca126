"""``symphony data migrate|users|tokens|audit`` and ``symphony login|logout``: the real command, real databases."""

from __future__ import annotations

import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import trustme

from tests.conftest import SYMPHONY, parse_json

from .conftest import DEADLINE, Serve, Server

if TYPE_CHECKING:
    from tests.conftest import Symphony


def _fails(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """The run exited 1 with one clear error line holding ``fragments``, and no traceback."""
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def _token(home: Symphony, *args: str) -> str:
    token: str = home.json("data", "tokens", "create", "--name", "cli-test", *args)["token"]
    return token


@pytest.fixture
def remote(serve: Serve, symphony: Callable[..., Symphony], tmp_path: Path) -> tuple[Server, Symphony]:
    """A service on its own SQLite file holding a user ``remote-only``, and the operator's ``symphony`` (its
    commands work on that database directly, as its local admin)."""
    operator = symphony(
        SYMPHONY_DATA_DATABASE=f"sqlite:///{tmp_path / 'remote.db'}", XDG_CONFIG_HOME=str(tmp_path / "operator")
    )
    operator.json("data", "users", "add", "remote-only", "--email", "remote@example.org")
    return serve(operator), operator


def test_migrate_brings_the_database_to_the_newest_schema(home: Symphony, database_url: str) -> None:
    document = home.json("data", "migrate", "--database", database_url)
    assert document["schema_revision"]
    assert home.json("data", "migrate", "--database", database_url) == document


def test_migrate_shows_a_database_url_without_its_password(home: Symphony, postgres_url: str) -> None:
    with_password = postgres_url.replace("postgres@", "postgres:hunter2@")  # trust auth: the password is ignored
    result = home.run("data", "migrate", "--database", with_password, "--json")
    assert "hunter2" not in result.stdout + result.stderr
    assert parse_json(result)["database"].startswith("postgresql+psycopg://postgres:***@/test_")


def test_users_add_list_and_show_on_the_embedded_service(home: Symphony) -> None:
    added = home.json("data", "users", "add", "ada", "--email", "ada@example.org", "--role", "editor")
    assert {k: added[k] for k in ("name", "email", "role")} == {
        "name": "ada",
        "email": "ada@example.org",
        "role": "editor",
    }
    listed = home.json("data", "users", "list")
    assert added in listed["items"]
    assert home.json("data", "users", "show", added["id"]) == added


def test_users_list_pages_with_a_cursor(home: Symphony) -> None:
    for name in ("u1", "u2"):
        home.json("data", "users", "add", name, "--email", f"{name}@example.org")
    first = home.json("data", "users", "list", "--limit", "2")
    second = home.json("data", "users", "list", "--limit", "2", "--cursor", first["next_cursor"])
    assert (len(first["items"]), len(second["items"]), second["next_cursor"]) == (2, 1, None)
    everyone = home.json("data", "users", "list")["items"]  # the local admin and the two users
    assert first["items"] + second["items"] == everyone


def test_users_add_on_postgresql_through_database(home: Symphony, postgres_url: str) -> None:
    added = home.json("data", "users", "add", "pg", "--email", "pg@example.org", "--database", postgres_url)
    assert home.json("data", "users", "show", added["id"], "--database", postgres_url) == added
    assert added not in home.json("data", "users", "list")["items"]  # the embedded service is another database


def test_an_unknown_user_is_a_not_found_error(home: Symphony) -> None:
    _fails(home.run("data", "users", "show", "0" * 32), "No user '00000000000000000000000000000000'")


def test_a_malformed_email_is_refused_before_anything_is_written(home: Symphony) -> None:
    _fails(home.run("data", "users", "add", "bad", "--email", "not-an-email"), "email")
    assert all(u["name"] != "bad" for u in home.json("data", "users", "list")["items"])


def test_a_second_user_with_the_same_email_is_a_validation_error(home: Symphony) -> None:
    home.json("data", "users", "add", "one", "--email", "same@example.org")
    _fails(home.run("data", "users", "add", "two", "--email", "same@example.org"), "same@example.org")


def test_a_token_is_shown_once_and_listed_without_its_secret(home: Symphony) -> None:
    made = home.json("data", "tokens", "create", "--name", "ci", "--expires-in", "3600")
    assert made["token"].startswith("sym_")
    assert made["expires_at"]
    listing = home.run("data", "tokens", "list", "--json")
    assert made["token"] not in listing.stdout
    listed = {t["id"]: t for t in parse_json(listing)["items"]}
    assert listed[made["id"]]["name"] == "ci"
    assert listed[made["id"]]["revoked"] is False


def test_a_revoked_token_is_listed_as_revoked_and_refused(serve: Serve, home: Symphony) -> None:
    made = home.json("data", "tokens", "create", "--name", "to-revoke")
    assert home.json("data", "tokens", "revoke", made["id"]) == {"revoked": made["id"]}
    listed = {t["id"]: t for t in home.json("data", "tokens", "list")["items"]}
    assert listed[made["id"]]["revoked"] is True
    server = serve(home)
    _fails(home.run("login", server.url, "--token", made["token"]), "token")


def test_tokens_for_another_user_are_made_by_the_admin(home: Symphony) -> None:
    user = home.json("data", "users", "add", "bot", "--email", "bot@example.org", "--role", "service")
    made = home.json("data", "tokens", "create", "--name", "bot-token", "--user", user["id"])
    listed = home.json("data", "tokens", "list", "--user", user["id"])["items"]
    assert [(t["id"], t["user_id"]) for t in listed] == [(made["id"], user["id"])]


def test_the_audit_log_lists_who_created_which_user(home: Symphony) -> None:
    added = home.json("data", "users", "add", "audited", "--email", "audited@example.org")
    records = home.json("data", "audit", "list", "--resource", "user")["items"]
    mine = [r for r in records if r["resource_id"] == added["id"]]
    assert [(r["action"], r["after"]["email"]) for r in mine] == [("create", "audited@example.org")]
    admin = next(u for u in home.json("data", "users", "list")["items"] if u["role"] == "admin")
    assert mine[0]["actor"] == admin["id"]


def test_text_output_is_a_table(home: Symphony) -> None:
    home.json("data", "users", "add", "tabled", "--email", "tabled@example.org")
    result = home.run("data", "users", "list")
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "EMAIL", "ROLE"]
    assert any(row.split()[1:] == ["tabled", "tabled@example.org", "viewer"] for row in rows)


def test_login_checks_the_token_and_stores_it_for_this_user_only_whatever_the_umask(
    remote: tuple[Server, Symphony], home: Symphony
) -> None:
    server, operator = remote
    token = _token(operator)
    home.home.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [str(SYMPHONY), "login", server.url, "--token", token, "--json"],
        cwd=home.home,
        env=home.env(),
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        umask=0,
        check=False,
    )
    document = parse_json(result)
    assert document["user"]["role"] == "admin"
    assert token not in result.stdout + result.stderr
    stored = home.home.parent / "config" / "symphony" / "data-login.json"
    assert document["stored"] == str(stored)
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700


def test_after_login_the_data_commands_use_the_remote_service(remote: tuple[Server, Symphony], home: Symphony) -> None:
    server, operator = remote
    home.json("login", server.url, "--token", _token(operator))
    names = [u["name"] for u in home.json("data", "users", "list")["items"]]
    assert "remote-only" in names


def test_login_prompts_for_the_token_when_none_is_given(remote: tuple[Server, Symphony], home: Symphony) -> None:
    server, operator = remote
    token = _token(operator)
    home.home.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [str(SYMPHONY), "login", server.url],
        cwd=home.home,
        env=home.env(),
        input=f"{token}\n",
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        start_new_session=True,  # no controlling terminal: the prompt reads standard input
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert token not in result.stdout
    assert f"logged in to {server.url} as" in result.stdout


def test_login_with_a_wrong_token_stores_nothing(remote: tuple[Server, Symphony], home: Symphony) -> None:
    server, _operator = remote
    _fails(home.run("login", server.url, "--token", "sym_wrong"), "token")
    assert not (home.home.parent / "config" / "symphony" / "data-login.json").exists()


def test_login_to_nothing_listening_is_a_network_error(home: Symphony) -> None:
    _fails(home.run("login", "http://127.0.0.1:9", "--token", "sym_x"), "could not be reached")


def test_a_viewer_logged_in_may_not_manage_users(remote: tuple[Server, Symphony], home: Symphony) -> None:
    server, operator = remote
    viewer = operator.json("data", "users", "add", "viewer", "--email", "viewer@example.org", "--role", "viewer")
    home.json("login", server.url, "--token", _token(operator, "--user", viewer["id"]))
    _fails(home.run("data", "users", "list"))


def test_logout_forgets_the_login_and_the_embedded_service_answers_again(
    remote: tuple[Server, Symphony], home: Symphony
) -> None:
    server, operator = remote
    home.json("login", server.url, "--token", _token(operator))
    assert home.json("logout") == {
        "logged_out": True,
        "file": str(home.home.parent / "config/symphony/data-login.json"),
    }
    assert "remote-only" not in [u["name"] for u in home.json("data", "users", "list")["items"]]
    assert home.json("logout")["logged_out"] is False


def test_url_with_a_token_in_the_environment_reaches_that_service(
    remote: tuple[Server, Symphony], home: Symphony
) -> None:
    server, operator = remote
    env = {"SYMPHONY_DATA_TOKEN": _token(operator)}
    names = [u["name"] for u in home.json("data", "users", "list", "--url", server.url, env=env)["items"]]
    assert "remote-only" in names


def test_url_without_any_token_says_how_to_get_one(home: Symphony) -> None:
    _fails(home.run("data", "users", "list", "--url", "http://127.0.0.1:9"), "symphony login http://127.0.0.1:9")


def test_login_over_tls_trusts_only_the_ca_it_is_given_and_keeps_using_it(
    serve: Serve, home: Symphony, symphony: Callable[..., Symphony], tmp_path: Path
) -> None:
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1")
    chain, key, ca = tmp_path / "chain.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    issued.cert_chain_pems[0].write_to_path(str(chain))
    issued.private_key_pem.write_to_path(str(key))
    authority.cert_pem.write_to_path(str(ca))
    operator = symphony(XDG_CONFIG_HOME=str(tmp_path / "operator"))
    server = serve(operator, "--tls-cert", str(chain), "--tls-key", str(key))
    token = _token(operator)
    _fails(home.run("login", server.url, "--token", token), "CERTIFICATE_VERIFY_FAILED")
    home.json("login", server.url, "--token", token, "--ca-cert", str(ca))
    assert home.json("data", "users", "list")["items"] == operator.json("data", "users", "list")["items"]


@pytest.mark.parametrize(
    ("database", "message"),
    [
        ("not-a-url-secretpw", "is not a database URL"),
        ("postgresql://u:secretpw@h:notaport/db", "is not a database URL"),
        ("mysql://u:secretpw@h/db", "runs on SQLite or PostgreSQL, not mysql"),
    ],
)
def test_a_bad_database_url_is_one_clear_error_that_does_not_repeat_it(
    home: Symphony, database: str, message: str
) -> None:
    result = home.run("data", "users", "list", "--database", database)
    _fails(result, message)
    assert "secretpw" not in result.stdout + result.stderr


def test_a_token_is_never_sent_in_clear_text_beyond_loopback(home: Symphony) -> None:
    _fails(home.run("login", "http://data.example.org", "--token", "sym_x"), "Refusing to send a token")
    env = {"SYMPHONY_DATA_TOKEN": "sym_x"}
    _fails(home.run("data", "users", "list", "--url", "http://10.1.2.3:8080", env=env), "use https://")
    assert not (home.home.parent / "config" / "symphony" / "data-login.json").exists()
