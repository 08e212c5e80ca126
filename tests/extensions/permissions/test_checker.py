"""The checker: declared and granted and not denied by policy, or denied with the fix in the message."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from symphony.hookspecs import (
    DistroProfile,
    FileAccess,
    ModelAccess,
    NetworkAccess,
    PermissionDeniedError,
    PermissionPolicy,
    SystemAccess,
)
from symphony.host.permissions import (
    FileRequest,
    LocationResolver,
    ModelRequest,
    NetworkRequest,
    Subject,
    SystemRequest,
)

from .conftest import Make, Tree


def reader(tree: Tree, name: str = "reader", publisher: str | None = None) -> Subject:
    return Subject(name=name, publisher=publisher, declared=(FileAccess(scope="read", paths=(f"{tree.allowed}/**",)),))


def test_a_declared_and_granted_request_is_allowed(make: Make, paths: Tree) -> None:
    permissions = make(reader(paths))
    permissions.grants.grant("reader", [f"file:read:{paths.allowed}/**"])
    decision = permissions.checker().check("reader", FileRequest(path=str(paths.inside)))
    assert decision.allowed and decision.rule == "granted"


def test_declared_but_not_granted_is_denied_with_the_grant_command(make: Make, paths: Tree) -> None:
    decision = make(reader(paths)).checker().check("reader", FileRequest(path=str(paths.inside)))
    assert not decision.allowed and decision.rule == "not_granted"
    command = f"symphony ext grant reader 'file:read:{paths.allowed}/**'"
    assert decision.grant_command == command
    assert f"its manifest declares file:read:{paths.allowed}/** but it is not granted" in decision.reason
    assert f"Grant it with `{command}`" in decision.reason


def test_require_raises_permission_denied_naming_extension_permission_and_command(make: Make, paths: Tree) -> None:
    checker = make(reader(paths)).checker()
    with pytest.raises(PermissionDeniedError) as caught:
        checker.require("reader", FileRequest(path=str(paths.inside)))
    message = str(caught.value)
    assert "'reader'" in message and f"file:read:{paths.inside}:read" in message and "symphony ext grant" in message


def test_granted_but_not_declared_is_denied_and_says_the_manifest_must_declare_it(make: Make, paths: Tree) -> None:
    permissions = make(reader(paths))
    permissions.grants.grant("reader", [f"file:read:{paths.root}/**", "network:api.example.com"])
    checker = permissions.checker()
    file_decision = checker.check("reader", FileRequest(path=str(paths.secret)))
    net_decision = checker.check("reader", NetworkRequest(host="api.example.com", port=443))
    assert (file_decision.rule, net_decision.rule) == ("not_declared", "not_declared")
    assert "its manifest does not declare it" in net_decision.reason
    assert 'network_access = ["api.example.com:443"]' in net_decision.reason


def test_an_operation_outside_the_granted_scope_is_denied(make: Make, paths: Tree) -> None:
    permissions = make(reader(paths))
    permissions.grants.grant("reader", [f"file:read:{paths.allowed}/**"])
    decision = permissions.checker().check("reader", FileRequest(path=str(paths.inside), operation="write"))
    assert not decision.allowed and decision.rule == "not_declared"


def writer(tree: Tree, *scopes: str) -> Subject:
    declared = tuple(FileAccess(scope=scope, paths=(f"{tree.allowed}/**",)) for scope in scopes)  # type: ignore[arg-type]
    return Subject(name="writer", declared=declared)


def test_a_write_grant_does_not_allow_reading(make: Make, paths: Tree) -> None:
    permissions = make(writer(paths, "write"))
    permissions.grants.grant("writer", [f"file:write:{paths.allowed}/**"])
    decision = permissions.checker().check("writer", FileRequest(path=str(paths.inside), operation="read"))
    assert not decision.allowed and decision.rule == "not_declared"


@pytest.mark.parametrize("operation", ["list", "write", "create", "delete"])
def test_a_write_grant_allows_listing_writing_creating_and_deleting(make: Make, paths: Tree, operation: str) -> None:
    permissions = make(writer(paths, "write"))
    permissions.grants.grant("writer", [f"file:write:{paths.allowed}/**"])
    request = FileRequest(path=str(paths.inside), operation=operation)  # type: ignore[arg-type]
    assert permissions.checker().check("writer", request).allowed


def test_a_read_and_a_write_grant_together_allow_reading_back_what_is_written(make: Make, paths: Tree) -> None:
    permissions = make(writer(paths, "read", "write"))
    permissions.grants.grant("writer", [f"file:read:{paths.allowed}/**", f"file:write:{paths.allowed}/**"])
    checker = permissions.checker()
    assert checker.check("writer", FileRequest(path=str(paths.inside), operation="write")).allowed
    assert checker.check("writer", FileRequest(path=str(paths.inside), operation="read")).allowed


def test_explicit_operations_narrow_a_scope(make: Make, paths: Tree) -> None:
    subject = Subject(name="lister", declared=(FileAccess(scope="read", paths=(f"{paths.allowed}/**",)),))
    permissions = make(subject)
    permissions.grants.grant("lister", [f"file:read:{paths.allowed}/**:list"])
    checker = permissions.checker()
    assert checker.check("lister", FileRequest(path=str(paths.allowed), operation="list")).allowed
    assert checker.check("lister", FileRequest(path=str(paths.inside), operation="read")).rule == "not_granted"


def test_a_policy_category_denial_overrides_a_grant(make: Make) -> None:
    subject = Subject(name="fetcher", declared=(NetworkAccess(hosts=("api.example.com",)),))
    profile = DistroProfile(name="offline", permissions=PermissionPolicy(deny=("network",)))
    permissions = make(subject, profile=profile)
    permissions.grants.grant("fetcher", ["network:api.example.com"])
    decision = permissions.checker().check("fetcher", NetworkRequest(host="api.example.com", port=443))
    assert not decision.allowed and decision.rule == "policy"
    assert "the distribution profile 'offline' forbids network access for every extension" in decision.reason


def test_a_policy_permission_denial_overrides_trust(make: Make, paths: Tree) -> None:
    subject = Subject(
        name="tool", publisher="acme", declared=(SystemAccess(capabilities=("processes", "environment")),)
    )
    profile = DistroProfile(
        name="locked", permissions=PermissionPolicy(deny=("system:processes",), trusted_publishers=("acme",))
    )
    checker = make(subject, profile=profile).checker()
    assert checker.check("tool", SystemRequest(capability="environment")).rule == "trusted"
    denied = checker.check("tool", SystemRequest(capability="processes"))
    assert denied.rule == "policy" and "forbids system:processes" in denied.reason


def test_a_user_denial_in_settings_applies_on_top_of_the_profile(make: Make) -> None:
    subject = Subject(name="m", declared=(ModelAccess(models=("gpt-4",)),))
    permissions = make(subject, deny=("model",))
    permissions.grants.grant("m", ["model:gpt-4"])
    decision = permissions.checker().check("m", ModelRequest(model="gpt-4"))
    assert decision.rule == "policy" and "the setting permissions.deny" in decision.reason


def test_a_trusted_publishers_extension_gets_what_it_declares_without_grants(make: Make, paths: Tree) -> None:
    profile = DistroProfile(name="acme-distro", permissions=PermissionPolicy(trusted_publishers=("acme",)))
    checker = make(reader(paths, publisher="acme"), profile=profile).checker()
    decision = checker.check("reader", FileRequest(path=str(paths.inside)))
    assert decision.allowed and decision.rule == "trusted"
    assert "publisher 'acme' is trusted" in decision.reason


def test_trust_never_extends_beyond_what_is_declared(make: Make, paths: Tree) -> None:
    profile = DistroProfile(name="acme-distro", permissions=PermissionPolicy(trusted_publishers=("acme",)))
    checker = make(reader(paths, publisher="acme"), profile=profile).checker()
    assert checker.check("reader", FileRequest(path=str(paths.secret))).rule == "not_declared"


def test_a_user_trust_mark_counts_unless_the_profile_forbids_user_trust(
    make: Make, paths: Tree, tmp_path: Path
) -> None:
    permissions = make(reader(paths))
    permissions.grants.trust("reader")
    assert permissions.checker().check("reader", FileRequest(path=str(paths.inside))).rule == "trusted"
    strict = DistroProfile(name="strict", permissions=PermissionPolicy(user_trust=False))
    locked = make(reader(paths), profile=strict, records=tmp_path / "permissions.db")
    assert locked.checker().check("reader", FileRequest(path=str(paths.inside))).rule == "not_granted"


def test_distribution_grants_count_and_user_grants_can_be_switched_off(make: Make, paths: Tree) -> None:
    subject = Subject(name="m", declared=(ModelAccess(models=("gpt-4", "claude")),))
    profile = DistroProfile(
        name="managed", permissions=PermissionPolicy(grants={"*": ("model:gpt-4",)}, user_grants=False)
    )
    permissions = make(subject, profile=profile)
    permissions.grants.grant("m", ["model:claude"])
    checker = permissions.checker()
    assert checker.check("m", ModelRequest(model="gpt-4")).allowed
    assert checker.check("m", ModelRequest(model="claude")).rule == "not_granted"


def test_path_traversal_is_resolved_before_matching(make: Make, paths: Tree) -> None:
    permissions = make(reader(paths))
    permissions.grants.grant("reader", [f"file:read:{paths.allowed}/**"])
    decision = permissions.checker().check("reader", FileRequest(path=f"{paths.allowed}/../secret.txt"))
    assert not decision.allowed and decision.target == str(paths.secret)


def test_etc_shadow_through_dot_dot_is_denied(make: Make, paths: Tree) -> None:
    permissions = make(reader(paths))
    permissions.grants.grant("reader", [f"file:read:{paths.allowed}/**"])
    climb = "/".join([".."] * len(paths.allowed.parts))
    decision = permissions.checker().check("reader", FileRequest(path=f"{paths.allowed}/{climb}/etc/shadow"))
    assert not decision.allowed and decision.target == "/etc/shadow"


def test_a_symlink_escaping_the_granted_directory_is_denied(make: Make, paths: Tree) -> None:
    (paths.allowed / "escape").symlink_to(paths.secret)
    (paths.allowed / "door").symlink_to(paths.root)
    permissions = make(reader(paths))
    permissions.grants.grant("reader", [f"file:read:{paths.allowed}/**"])
    checker = permissions.checker()
    assert checker.check("reader", FileRequest(path=str(paths.allowed / "escape"))).rule == "not_declared"
    assert checker.check("reader", FileRequest(path=str(paths.allowed / "door" / "secret.txt"))).rule == "not_declared"


def test_a_symlink_swapped_after_a_decision_is_resolved_again(make: Make, paths: Tree) -> None:
    link = paths.allowed / "data.txt"
    link.symlink_to(paths.inside)
    permissions = make(reader(paths))
    permissions.grants.grant("reader", [f"file:read:{paths.allowed}/**"])
    checker = permissions.checker()
    assert checker.check("reader", FileRequest(path=str(link))).allowed
    link.unlink()
    link.symlink_to(paths.secret)
    assert not checker.check("reader", FileRequest(path=str(link))).allowed


def test_a_granted_directory_reached_through_a_symlink_matches_its_real_path(make: Make, paths: Tree) -> None:
    alias = paths.root / "alias"
    alias.symlink_to(paths.allowed)
    subject = Subject(name="r", declared=(FileAccess(scope="read", paths=(f"{alias}/**",)),))
    permissions = make(subject)
    permissions.grants.grant("r", [f"file:read:{alias}/**"])
    assert permissions.checker().check("r", FileRequest(path=str(paths.inside))).allowed


def test_single_star_stays_in_one_directory_and_double_star_spans_them(make: Make, paths: Tree) -> None:
    nested = paths.allowed / "sub" / "deep.txt"
    nested.parent.mkdir()
    nested.write_text("x")
    subject = Subject(name="r", declared=(FileAccess(scope="read", paths=(f"{paths.root}/**",)),))
    permissions = make(subject)
    permissions.grants.grant("r", [f"file:read:{paths.allowed}/*.txt"])
    checker = permissions.checker()
    assert checker.check("r", FileRequest(path=str(paths.inside))).allowed
    assert not checker.check("r", FileRequest(path=str(nested))).allowed


def test_named_locations_resolve_to_the_extensions_own_directories(make: Make, resolver: LocationResolver) -> None:
    subject = Subject(name="cache-user", declared=(FileAccess(scope="write", paths=("cache",)),))
    other = Subject(name="other", declared=(FileAccess(scope="write", paths=("cache",)),))
    permissions = make(subject, other)
    permissions.grants.grant("cache-user", ["file:write:cache"])
    permissions.grants.grant("other", ["file:write:cache"])
    checker = permissions.checker()
    own = resolver.resolve("cache-user", "cache") / "index.bin"
    theirs = resolver.resolve("other", "cache") / "index.bin"
    assert checker.check("cache-user", FileRequest(path=str(own), operation="create")).allowed
    assert not checker.check("cache-user", FileRequest(path=str(theirs), operation="create")).allowed


@pytest.mark.parametrize("escape", ["a symlink the extension planted", "dot-dot"])
def test_a_pattern_below_a_named_location_that_resolves_outside_it_names_nothing(
    make: Make, resolver: LocationResolver, paths: Tree, escape: str
) -> None:
    own = resolver.resolve("m", "data")
    own.mkdir(parents=True)
    if escape == "dot-dot":
        pattern = f"data/{os.path.relpath(paths.root, own)}/**"
    else:
        (own / "models").symlink_to(paths.root)
        pattern = "data/models/**"
    permissions = make(Subject(name="m", declared=(FileAccess(scope="read", paths=(pattern,)),)))
    permissions.grants.grant("m", [f"file:read:{pattern}"])
    checker = permissions.checker()
    assert not checker.check("m", FileRequest(path=str(paths.secret))).allowed
    assert not checker.check("m", FileRequest(path=str(own / "models" / "secret.txt"))).allowed


def test_relative_request_paths_are_taken_from_the_workspace(make: Make, resolver: LocationResolver) -> None:
    subject = Subject(name="w", declared=(FileAccess(scope="read", paths=("workspace/src/**",)),))
    permissions = make(subject)
    permissions.grants.grant("w", ["file:read:workspace/src/**"])
    decision = permissions.checker().check("w", FileRequest(path="src/main.py"))
    assert decision.allowed and decision.target == str(resolver.workspace / "src" / "main.py")


def test_tilde_patterns_expand_to_the_home_directory(make: Make) -> None:
    subject = Subject(name="notes", declared=(FileAccess(scope="read", paths=("~/notes/**",)),))
    permissions = make(subject)
    permissions.grants.grant("notes", ["file:read:~/notes/**"])
    home = os.path.realpath(os.path.expanduser("~"))
    assert permissions.checker().check("notes", FileRequest(path=f"{home}/notes/today.md")).allowed


@pytest.mark.parametrize(
    ("host", "port", "allowed"),
    [
        ("api.example.com", 443, True),
        ("a.b.example.com", 8443, True),
        ("API.Example.COM.", 443, True),
        ("example.com", 443, False),
        ("evilexample.com", 443, False),
        ("example.com.evil.net", 443, False),
    ],
)
def test_a_star_dot_domain_matches_subdomains_only(make: Make, host: str, port: int, allowed: bool) -> None:
    subject = Subject(name="net", declared=(NetworkAccess(hosts=("*.example.com",)),))
    permissions = make(subject)
    permissions.grants.grant("net", ["network:*.example.com"])
    assert permissions.checker().check("net", NetworkRequest(host=host, port=port)).allowed is allowed


def test_a_port_in_a_host_pattern_restricts_the_port(make: Make) -> None:
    subject = Subject(name="net", declared=(NetworkAccess(hosts=("localhost:8080",)),))
    permissions = make(subject)
    permissions.grants.grant("net", ["network:localhost:8080"])
    checker = permissions.checker()
    assert checker.check("net", NetworkRequest(host="localhost", port=8080)).allowed
    assert not checker.check("net", NetworkRequest(host="localhost", port=22)).allowed


def test_a_url_request_keeps_only_host_and_port() -> None:
    request = NetworkRequest.from_url("https://user:pa55@api.example.com/v1/x?key=SECRET")
    assert request == NetworkRequest(host="api.example.com", port=443)


def test_model_patterns_match_model_ids(make: Make) -> None:
    subject = Subject(name="m", declared=(ModelAccess(models=("claude-*",)),))
    permissions = make(subject)
    permissions.grants.grant("m", ["model:claude-*"])
    checker = permissions.checker()
    assert checker.check("m", ModelRequest(model="claude-3-opus")).allowed
    assert checker.check("m", ModelRequest(model="gpt-4")).rule == "not_declared"


def test_an_unknown_extension_is_denied(make: Make) -> None:
    decision = make().checker().check("ghost", SystemRequest(capability="processes"))
    assert decision.rule == "unknown_extension" and "no installed extension has that name" in decision.reason


def test_a_revoke_takes_effect_on_the_next_decision(make: Make, paths: Tree) -> None:
    permissions = make(reader(paths))
    permissions.grants.grant("reader", [f"file:read:{paths.allowed}/**"])
    checker = permissions.checker()
    assert checker.check("reader", FileRequest(path=str(paths.inside))).allowed
    permissions.grants.revoke("reader", [f"file:read:{paths.allowed}/**"])
    assert not checker.check("reader", FileRequest(path=str(paths.inside))).allowed


def test_learning_mode_allows_everything_and_says_what_enforcing_would_do(make: Make, paths: Tree) -> None:
    decision = make(reader(paths)).checker(mode="learn").check("reader", FileRequest(path=str(paths.secret)))
    assert decision.allowed and decision.rule == "learning"
    assert "enforcing would deny it" in decision.reason and "does not declare" in decision.reason


def test_a_runtime_callback_raises_for_a_denied_permission_and_passes_an_allowed_one(make: Make, paths: Tree) -> None:
    subject = Subject(
        name="guest",
        declared=(NetworkAccess(hosts=("api.example.com",)), FileAccess(scope="read", paths=(f"{paths.allowed}/**",))),
    )
    permissions = make(subject)
    permissions.grants.grant("guest", ["network:api.example.com", f"file:read:{paths.allowed}/**"])
    callback = permissions.checker().callback("guest", run_id="r")
    callback(NetworkAccess(hosts=("api.example.com:443",)))
    callback(FileAccess(scope="read", paths=(str(paths.inside),)))
    with pytest.raises(PermissionDeniedError, match=r"evil\.example\.com"):
        callback(NetworkAccess(hosts=("evil.example.com",)))
    with pytest.raises(PermissionDeniedError, match="write"):
        callback(FileAccess(scope="write", paths=(str(paths.inside),)))
    assert [e.decision for e in permissions.audit.entries(run_id="r")] == ["denied", "denied", "allowed", "allowed"]


def test_a_grant_of_many_wildcards_is_checked_without_backtracking(make: Make, paths: Tree) -> None:
    """Such a glob made the checker's regex take exponential time to refuse a path (ReDoS)."""
    pattern = f"{paths.root}/" + "*a" * 30 + "*.txt"
    hostile = Subject(name="stars", declared=(FileAccess(scope="read", paths=(pattern,)),))
    permissions = make(hostile)
    permissions.grants.grant("stars", [f"file:read:{pattern}"])
    checker = permissions.checker()
    assert not checker.check("stars", FileRequest(path=f"{paths.root}/" + "a" * 200)).allowed
    assert checker.check("stars", FileRequest(path=f"{paths.root}/" + "ba" * 30 + ".txt")).allowed
