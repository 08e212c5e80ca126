"""File grants, as the runtimes enforce them: exactly as narrow as the grant, never widened.

Each test declares and grants one file permission to the hostile extension
(``tests/distributions/ext-hostile``) the way a user would (manifest
``[capabilities]`` plus ``symphony ext grant``'s store), builds its launch
with the host's :func:`launch_for`, runs it in the real runtime (a worker
confined by Landlock, or Wasmtime with WASI preopens) and makes one attempt.
``~`` is a fake home in the test's directory, with a fake ``.ssh/id_rsa``
and ``.bashrc``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, Final

import msgspec
import pytest

from symphony.hookspecs import ExtensionError, PermissionDeniedError
from symphony.hookspecs.runtimes import Launch, PathRule
from symphony.host import Settings
from symphony.host.extensions import check_manifest_text
from symphony.host.extensions._index import InstalledExtension
from symphony.host.extensions._manager import ExtensionManager
from symphony.host.extensions._runtime import launch_for
from symphony.host.permissions import Permissions, Subject, open_permissions
from symphony.sandbox.confine import ConfinementPolicy, PolicyError
from symphony.sandbox.subprocess import SubprocessWorker
from symphony.sandbox.subprocess.runtime import SubprocessRuntime
from symphony.sandbox.wasm import WasmLoadError, build_python_component
from symphony.sandbox.wasm.adapter import WasmManagerRuntime
from tests.sandbox.wasm.conftest import HOSTILE_GUEST, user_cache

HOSTILE: Final = Path(__file__).resolve().parents[1] / "distributions" / "ext-hostile" / "src"
PROBE: Final = Path(__file__).resolve().parent / "grant_probe"
NAME: Final = "ext-hostile"

#: Runs the hostile operation and says whether the attempt got through.
Attempt = Callable[..., Awaitable[bool]]


@pytest.fixture(scope="module")
def hostile_component() -> Path:
    return build_python_component(HOSTILE_GUEST, "hostile_guest", user_cache("wasm-build"))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``~`` for the host: a private key and a shell profile an attacker would want."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (home / ".bashrc").write_text("# profile\n")
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A directory to grant: two text files, a key, a subdirectory."""
    root = (tmp_path / "tree").resolve()
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "b.txt").write_text("b")
    (root / "secret.key").write_text("key")
    (root / "sub" / "c.txt").write_text("c")
    return root


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")


@pytest.fixture
def permissions(settings: Settings, tmp_path: Path, home: Path) -> Iterator[Permissions]:
    opened = open_permissions(settings, None, lambda name: Subject(name=name), workspace=tmp_path / "workspace")
    yield opened
    opened.close()


def _installed(
    kind: str, declared: list[dict[str, Any]], component: Path | None, *, probe: bool = False
) -> InstalledExtension:
    if kind == "wasm":
        assert component is not None
        package_dir, entry = component.parent, component.name
    elif probe:
        package_dir, entry = PROBE / "symphony_test_grant_probe", "symphony_test_grant_probe:handle"
    else:
        package_dir, entry = HOSTILE / "symphony_test_hostile", "symphony_test_hostile:handle"
    rules = ", ".join(
        f"{{ scope = {rule['scope']!r}, paths = [{rule['path']!r}]"
        + (f", operations = {rule['operations']!r}" if "operations" in rule else "")
        + " }"
        for rule in declared
    )
    text = f"""
schema_version = 1
[extension]
name = "{NAME}"
version = "1.0.0"
type = "operator"
author = "Symphony tests"
description = "Tries to reach more than its file grants."
[capabilities]
file_access = [{rules}]
[resources]
timeout = 10.0
[runtime]
kind = "{kind}"
entry = "{entry}"
"""
    manifest, problems = check_manifest_text(text)
    assert manifest is not None and not problems, problems
    return InstalledExtension(
        name=NAME,
        package=package_dir.name,
        distribution="symphony-test-ext-hostile",
        version="1.0.0",
        location=str(package_dir),
        manifest_path=str(package_dir / "symphony-extension.toml"),
        manifest=manifest,
    )


def _grant_text(rule: dict[str, Any]) -> str:
    operations = f":{','.join(rule['operations'])}" if "operations" in rule else ""
    return f"file:{rule['scope']}:{rule['path']}{operations}"


async def _no_host_calls(method: str, params: dict[str, Any]) -> Any:
    raise PermissionDeniedError(f"extension {NAME!r} makes no host calls in these tests ({method})")


@pytest.fixture(params=["subprocess", pytest.param("wasm", marks=pytest.mark.slow)])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def granted(
    kind: str, settings: Settings, permissions: Permissions, request: pytest.FixtureRequest
) -> AsyncIterator[Callable[..., Attempt]]:
    """``granted(rule, ...)``: declare and grant the rules, start the extension, return its ``attempt``.

    With ``probe=True`` the extension is ``grant_probe`` (subprocess only): ``attempt(call, *args)``.
    """
    component = request.getfixturevalue("hostile_component") if kind == "wasm" else None
    wasm = WasmManagerRuntime(user_cache("wasm-compiled-tests"))
    manager = ExtensionManager({"subprocess": SubprocessRuntime(), "wasm": wasm}, lambda name: _no_host_calls)

    def grant(*rules: dict[str, Any], probe: bool = False) -> Attempt:
        installed = _installed(kind, list(rules), component, probe=probe)
        permissions.grants.grant(NAME, [_grant_text(rule) for rule in rules])
        manager.register(launch_for(installed, settings, permissions))

        async def attempt(operation: str, path: Path | str, *args: Path | str, **values: Any) -> bool:
            name = "listdir" if (kind, operation) == ("wasm", "list_dir") else operation
            inputs = {"path": str(path), "text": "pwned", "args": [str(path), *map(str, args)], **values}
            outcome = await manager.invoke(NAME, name, inputs)
            return bool(outcome.get("outcome") == "allowed" or "ok" in outcome)

        return attempt

    yield grant
    await manager.close()
    wasm.close()


def refused_in_wasm(kind: str, granted: Callable[..., Attempt], *rules: dict[str, Any]) -> bool:
    """In wasm a grant no preopen can express is refused at launch (naming it); True if it was."""
    if kind != "wasm":
        return False
    with pytest.raises(ExtensionError, match="runs in wasm, where a") as refused:
        granted(*rules)
    assert _grant_text(rules[0]) in str(refused.value)
    return True


async def test_a_write_only_grant_cannot_read_what_it_may_write(
    kind: str, granted: Callable[..., Attempt], tree: Path
) -> None:
    rule = {"scope": "write", "path": f"{tree}/**", "operations": ["write", "create", "delete"]}
    if refused_in_wasm(kind, granted, rule):
        return
    attempt = granted(rule)
    assert await attempt("write", tree / "new.txt")
    assert not await attempt("read", tree / "a.txt")
    assert not await attempt("list_dir", tree)


async def test_a_write_grant_cannot_read_in_its_tree(kind: str, granted: Callable[..., Attempt], tree: Path) -> None:
    rule = {"scope": "write", "path": f"{tree}/**"}
    if refused_in_wasm(kind, granted, rule):
        return
    attempt = granted(rule)
    assert await attempt("write", tree / "new.txt")
    assert not await attempt("read", tree / "a.txt")
    assert not await attempt("read", tree / "new.txt")
    assert not await attempt("read", tree / "sub" / "c.txt")


async def test_a_read_and_a_write_grant_on_one_tree_read_back_what_they_write(
    granted: Callable[..., Attempt], tree: Path
) -> None:
    attempt = granted({"scope": "read", "path": f"{tree}/**"}, {"scope": "write", "path": f"{tree}/**"})
    assert await attempt("write", tree / "new.txt")
    assert await attempt("read", tree / "new.txt")
    assert await attempt("read", tree / "sub" / "c.txt")
    assert (tree / "new.txt").read_text() == "pwned"


async def test_a_list_only_grant_cannot_read_contents(kind: str, granted: Callable[..., Attempt], tree: Path) -> None:
    rule = {"scope": "read", "path": f"{tree}/**", "operations": ["list"]}
    if refused_in_wasm(kind, granted, rule):
        return
    attempt = granted(rule)
    assert await attempt("list_dir", tree)
    assert not await attempt("read", tree / "a.txt")
    assert not await attempt("read", tree / "sub" / "c.txt")


async def test_a_glob_grant_cannot_read_a_file_it_does_not_match(
    kind: str, granted: Callable[..., Attempt], tree: Path
) -> None:
    rule = {"scope": "read", "path": f"{tree}/*.txt"}
    if refused_in_wasm(kind, granted, rule):
        return
    attempt = granted(rule)
    assert await attempt("read", tree / "a.txt")
    assert not await attempt("read", tree / "secret.key")
    assert not await attempt("read", tree / "sub" / "c.txt")


async def test_a_glob_grant_does_not_cover_a_matching_file_created_after_launch(
    kind: str, granted: Callable[..., Attempt], tree: Path
) -> None:
    rule = {"scope": "write", "path": f"{tree}/*.txt"}
    if refused_in_wasm(kind, granted, rule):
        return
    attempt = granted(rule)
    assert await attempt("write", tree / "a.txt")
    assert not await attempt("write", tree / "later.txt")
    assert not (tree / "later.txt").exists()


async def test_a_single_file_grant_opens_that_file_not_its_directory(
    kind: str, granted: Callable[..., Attempt], tree: Path
) -> None:
    rule = {"scope": "read", "path": str(tree / "a.txt")}
    if refused_in_wasm(kind, granted, rule):
        return
    attempt = granted(rule)
    assert await attempt("read", tree / "a.txt")
    assert not await attempt("read", tree / "b.txt")
    assert not await attempt("list_dir", tree)


async def test_a_grant_on_a_missing_directory_reaches_nothing_above_it(
    granted: Callable[..., Attempt], home: Path
) -> None:
    attempt = granted({"scope": "write", "path": "~/exports/**"})
    assert not await attempt("read", home / ".ssh" / "id_rsa")
    assert not await attempt("write", home / ".bashrc")
    assert (home / ".bashrc").read_text() == "# profile\n"
    assert not (home / "exports").exists(), "the host creates no directory outside the extension's own locations"


async def test_a_missing_directory_is_granted_once_it_exists_at_the_next_launch(
    granted: Callable[..., Attempt], home: Path
) -> None:
    (home / "exports").mkdir()
    attempt = granted({"scope": "read", "path": "~/exports/**"}, {"scope": "write", "path": "~/exports/**"})
    assert await attempt("write", home / "exports" / "report.txt")
    assert (home / "exports" / "report.txt").read_text() == "pwned"


async def test_a_symlink_inside_a_granted_directory_does_not_lead_outside(
    granted: Callable[..., Attempt], tree: Path, home: Path
) -> None:
    (tree / "key").symlink_to(home / ".ssh" / "id_rsa")
    attempt = granted({"scope": "read", "path": f"{tree}/**"})
    assert await attempt("read", tree / "a.txt")
    assert not await attempt("read", tree / "key")


@pytest.mark.parametrize("kind", ["subprocess"])
async def test_a_symlink_matching_a_glob_grant_is_not_followed(
    granted: Callable[..., Attempt], tree: Path, home: Path
) -> None:
    (tree / "key.txt").symlink_to(home / ".ssh" / "id_rsa")
    attempt = granted({"scope": "read", "path": f"{tree}/*.txt"})
    assert await attempt("read", tree / "a.txt")
    assert not await attempt("read", tree / "key.txt")


async def test_a_symlink_planted_in_a_named_location_does_not_widen_a_grant_below_it(
    granted: Callable[..., Attempt], settings: Settings, home: Path
) -> None:
    own = settings.data_dir / "extensions" / NAME
    own.mkdir(parents=True)
    (own / "models").symlink_to(home)
    attempt = granted({"scope": "read", "path": "data/models/**"})
    assert not await attempt("read", own / "models" / ".ssh" / "id_rsa")
    assert not await attempt("read", home / ".ssh" / "id_rsa")


async def test_a_relative_pattern_grants_nothing_as_the_checker_reads_it(
    kind: str, granted: Callable[..., Attempt], tmp_path: Path
) -> None:
    docs = tmp_path / "workspace" / "docs"
    docs.mkdir(parents=True)
    (docs / "notes.md").write_text("notes")
    rule = {"scope": "read", "path": "docs/**"}
    attempt = granted(rule)
    assert not await attempt("read", docs / "notes.md")


async def test_a_named_location_grant_is_its_own_directory_created_by_the_host(
    kind: str, granted: Callable[..., Attempt], settings: Settings
) -> None:
    attempt = granted({"scope": "read", "path": "data"}, {"scope": "write", "path": "data"})
    own = settings.data_dir / "extensions" / NAME
    assert await attempt("write", "/data/result.txt" if kind == "wasm" else own / "result.txt")
    assert (own / "result.txt").read_text() == "pwned"


async def test_a_grant_below_a_named_location_opens_only_that_directory(
    kind: str, granted: Callable[..., Attempt], settings: Settings
) -> None:
    own = settings.data_dir / "extensions" / NAME
    own.mkdir(parents=True)
    (own / "private.txt").write_text("private")
    attempt = granted({"scope": "read", "path": "data/models/**"}, {"scope": "write", "path": "data/models/**"})
    assert (own / "models").is_dir(), "the host creates the granted directory inside the extension's location"
    assert await attempt("write", own / "models" / "weights.bin")
    assert await attempt("read", own / "models" / "weights.bin")
    assert not await attempt("read", own / "private.txt")


def test_a_glob_grant_that_would_expand_to_too_many_paths_is_refused_with_the_directory_form(
    settings: Settings, permissions: Permissions, tree: Path
) -> None:
    many = tree / "many"
    many.mkdir()
    for index in range(10_001):
        (many / f"{index}.log").touch()
    rule = {"scope": "read", "path": f"{many}/*.txt"}
    permissions.grants.grant(NAME, [_grant_text(rule)])
    with pytest.raises(ExtensionError, match=rf"more than 10000 paths below {many}\. Grant the directory"):
        launch_for(_installed("subprocess", [rule], None), settings, permissions)


@pytest.mark.parametrize("kind", ["subprocess"])
async def test_a_write_grant_cannot_hard_link_a_file_from_outside_into_its_tree(
    granted: Callable[..., Attempt], tree: Path, home: Path
) -> None:
    attempt = granted({"scope": "write", "path": f"{tree}/**"}, probe=True)
    assert not await attempt("link", home / ".ssh" / "id_rsa", tree / "stolen")
    assert not (tree / "stolen").exists()


@pytest.mark.parametrize("kind", ["subprocess"])
async def test_a_write_grant_cannot_move_a_file_out_of_its_tree(
    granted: Callable[..., Attempt], tree: Path, home: Path
) -> None:
    attempt = granted({"scope": "write", "path": f"{tree}/**"}, probe=True)
    assert await attempt("rename", tree / "a.txt", tree / "moved.txt")
    assert not await attempt("rename", tree / "moved.txt", home / "moved.txt")
    assert not (home / "moved.txt").exists()


@pytest.mark.parametrize("kind", ["subprocess"])
@pytest.mark.parametrize("call", ["mkfifo", "bind"])
async def test_no_grant_lets_an_extension_create_a_fifo_or_a_socket(
    granted: Callable[..., Attempt], tree: Path, call: str
) -> None:
    attempt = granted({"scope": "admin", "path": f"{tree}/**"}, probe=True)
    assert await attempt("symlink", tree / "a.txt", tree / "link")
    assert not await attempt(call, tree / "endpoint")
    assert not (tree / "endpoint").exists()


def wasm_refusal(settings: Settings, permissions: Permissions, component: Path, rule: dict[str, Any]) -> str:
    """The message the host refuses a wasm launch with when ``rule`` is declared and granted."""
    permissions.grants.grant(NAME, [_grant_text(rule)])
    with pytest.raises(ExtensionError) as refused:
        launch_for(_installed("wasm", [rule], component), settings, permissions)
    return str(refused.value)


@pytest.mark.slow  # builds the hostile component (cached between sessions)
def test_the_wasm_refusal_says_how_to_grant_instead(
    settings: Settings, permissions: Permissions, tree: Path, hostile_component: Path
) -> None:
    rule = {"scope": "read", "path": f"{tree}/*.txt"}
    assert wasm_refusal(settings, permissions, hostile_component, rule) == (
        f"Extension 'ext-hostile' runs in wasm, where a file grant is a whole directory, preopened read-only"
        f" (read, list) or read-write (read, list, write, create, delete): 'file:read:{tree}/*.txt' cannot be"
        " given exactly. Grant a directory that way ('file:read:DIR/**', 'file:read:DIR/**' with"
        " 'file:write:DIR/**', or 'file:admin:DIR/**'), or revoke it with 'symphony ext revoke ext-hostile"
        f" file:read:{tree}/*.txt'."
    )


@pytest.mark.slow  # builds the hostile component (cached between sessions)
def test_a_write_only_tree_in_wasm_is_refused_saying_to_grant_reading_too(
    settings: Settings, permissions: Permissions, tree: Path, hostile_component: Path
) -> None:
    rule = {"scope": "write", "path": f"{tree}/**"}
    assert wasm_refusal(settings, permissions, hostile_component, rule) == (
        "Extension 'ext-hostile' runs in wasm, where a granted directory is preopened read-only (read, list)"
        " or read-write (read, list, write, create, delete, which includes reading): its grants on"
        f" {tree} ('file:write:{tree}/**') are neither. Grant reading too with 'symphony ext grant ext-hostile"
        f" file:read:{tree}/**', or grant 'file:admin:{tree}/**' instead."
    )


@pytest.mark.slow  # starts the hostile component
async def test_a_wasm_launch_with_a_write_only_directory_is_refused_by_the_runtime_too(
    settings: Settings, tree: Path, hostile_component: Path
) -> None:
    """An embedder's launch that skips the host's check gets no read-write preopen from a write rule."""
    wasm = WasmManagerRuntime(user_cache("wasm-compiled-tests"))
    rule = PathRule(path=str(tree), operations=("list", "write", "create", "delete"))
    launch = Launch(name=NAME, kind="wasm", entry=str(hostile_component), file_rules=(rule,))
    try:
        with pytest.raises(WasmLoadError, match=f"its grants on {tree} allow neither reading only"):
            await wasm.start(launch, _no_host_calls)
    finally:
        wasm.close()


# --- the worker's side of a rule ------------------------------------------------------------


@pytest.mark.parametrize("link", ["the last name", "a directory on the way"])
async def test_a_rule_whose_path_became_a_symlink_after_the_host_resolved_it_grants_nothing(
    tree: Path, home: Path, link: str
) -> None:
    """The host expands a grant, then the path is swapped for a link before the worker starts."""
    if link == "the last name":
        rule = PathRule(path=str(tree / "a.txt"), operations=("read",))
        (tree / "a.txt").unlink()
        (tree / "a.txt").symlink_to(home / ".ssh" / "id_rsa")
    else:
        rule = PathRule(path=str(tree / "sub" / "id_rsa"), operations=("read",))
        (tree / "sub" / "c.txt").unlink()
        (tree / "sub").rmdir()
        (tree / "sub").symlink_to(home / ".ssh")
    worker = SubprocessWorker(
        NAME, "symphony_test_hostile:handle", policy=ConfinementPolicy(file_rules=(rule,)), sys_path=[str(HOSTILE)]
    )
    await worker.start()
    try:
        outcome = await worker.invoke("read", {"path": rule.path})
    finally:
        await worker.stop()
    assert outcome["outcome"] == "denied", outcome


@pytest.mark.parametrize(
    ("rule", "error"),
    [
        ({"path": "relative/a.txt", "operations": ["read"]}, "file_rules: expected an absolute path"),
        ({"path": "/srv/a.txt", "operations": []}, "allows no operation"),
        ({"path": "/srv/a.txt", "operations": ["steal"]}, "Invalid enum value 'steal'"),
    ],
)
def test_a_malformed_rule_is_refused_with_what_is_wrong(rule: dict[str, Any], error: str) -> None:
    with pytest.raises((PolicyError, msgspec.ValidationError), match=error):
        msgspec.convert({"file_rules": [rule]}, ConfinementPolicy)
