"""Learning mode: record everything, then print the smallest [capabilities] covering it."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import msgspec

from symphony.hookspecs import Capabilities, FileRule
from symphony.host.permissions import (
    FileRequest,
    LocationResolver,
    ModelRequest,
    NetworkRequest,
    PermissionChecker,
    Request,
    Subject,
    SystemRequest,
    learn_capabilities,
)

from .conftest import Make, Tree


def capabilities(text: str) -> Capabilities:
    return msgspec.convert(tomllib.loads(text)["capabilities"], Capabilities)


def observe(make: Make, requests: list[Request], resolver: LocationResolver) -> str:
    """Run ``requests`` through a learning checker; returns the learned TOML."""
    permissions = make(Subject(name="newbie"))
    checker = permissions.checker(mode="learn")
    for request in requests:
        assert checker.check("newbie", request, run_id="learn-1").allowed
    entries = permissions.audit.entries(extension="newbie", limit=None)
    assert all(e.mode == "learn" for e in entries)
    return learn_capabilities(entries, extension="newbie", resolver=resolver)


def enforce(make: Make, declared: Capabilities, database: Path) -> PermissionChecker:
    """A checker where ``newbie`` declares and is granted exactly the learned block."""
    permissions = make(Subject(name="newbie", declared=declared.permissions()), records=database)
    permissions.grants.grant("newbie", declared.permissions())
    return permissions.checker()


def test_learned_capabilities_allow_exactly_what_was_observed(
    make: Make, paths: Tree, resolver: LocationResolver, tmp_path: Path
) -> None:
    data = resolver.resolve("newbie", "data")
    observed: list[Request] = [
        FileRequest(path=str(paths.inside)),
        FileRequest(path=str(data / "state.json"), operation="write"),
        FileRequest(path=str(data / "state.json"), operation="create"),
        NetworkRequest(host="api.example.com", port=443),
        ModelRequest(model="gpt-4"),
        SystemRequest(capability="processes"),
    ]
    text = observe(make, observed, resolver)
    declared = capabilities(text)
    checker = enforce(make, declared, tmp_path / "enforce.db")
    for request in observed:
        assert checker.check("newbie", request).allowed, (request, text)
    unobserved: list[Request] = [
        FileRequest(path=str(paths.secret)),
        FileRequest(path=str(paths.inside), operation="write"),
        NetworkRequest(host="api.example.com", port=80),
        NetworkRequest(host="evil.example.com", port=443),
        ModelRequest(model="gpt-5"),
        SystemRequest(capability="environment"),
        FileRequest(path=str(resolver.resolve("other", "data") / "state.json"), operation="write"),
    ]
    for request in unobserved:
        assert not checker.check("newbie", request).allowed, (request, text)


def test_the_extensions_own_directories_become_named_locations(make: Make, resolver: LocationResolver) -> None:
    cache = resolver.resolve("newbie", "cache")
    text = observe(make, [FileRequest(path=str(cache / "a" / "b.bin"), operation="create")], resolver)
    assert capabilities(text).file_access == (FileRule(scope="write", paths=("cache",), operations=("create",)),)


def test_a_file_read_and_written_gets_a_read_and_a_write_entry(
    make: Make, paths: Tree, resolver: LocationResolver
) -> None:
    observed: list[Request] = [
        FileRequest(path=str(paths.inside)),
        FileRequest(path=str(paths.inside), operation="write"),
    ]
    text = observe(make, observed, resolver)
    assert capabilities(text).file_access == (
        f"read:{paths.inside}",
        FileRule(scope="write", paths=(str(paths.inside),), operations=("write",)),
    )


def test_a_directory_listed_and_written_gets_one_write_entry(
    make: Make, paths: Tree, resolver: LocationResolver
) -> None:
    observed: list[Request] = [
        FileRequest(path=str(paths.allowed), operation="list"),
        FileRequest(path=str(paths.allowed), operation="write"),
    ]
    text = observe(make, observed, resolver)
    assert capabilities(text).file_access == (
        FileRule(scope="write", paths=(str(paths.allowed),), operations=("list", "write")),
    )


def test_reads_give_the_short_form(make: Make, paths: Tree, resolver: LocationResolver) -> None:
    text = observe(make, [FileRequest(path=str(paths.inside))], resolver)
    assert capabilities(text).file_access == (f"read:{paths.inside}",)


def test_many_files_in_one_directory_collapse_to_a_glob(make: Make, paths: Tree, resolver: LocationResolver) -> None:
    files = [paths.allowed / f"{n}.txt" for n in range(4)]
    text = observe(make, [FileRequest(path=str(f)) for f in files], resolver)
    assert capabilities(text).file_access == (f"read:{paths.allowed}/*",)


def test_files_across_many_subdirectories_collapse_to_a_recursive_glob(
    make: Make, paths: Tree, resolver: LocationResolver
) -> None:
    files = [paths.allowed / sub / "x.txt" for sub in ("a", "b", "c")]
    text = observe(make, [FileRequest(path=str(f)) for f in files], resolver)
    assert capabilities(text).file_access == (f"read:{paths.allowed}/**",)


def test_nothing_is_collapsed_to_a_top_level_system_directory(make: Make, resolver: LocationResolver) -> None:
    files = ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"]
    text = observe(make, [FileRequest(path=os.path.realpath(f)) for f in files], resolver)
    assert not any(str(entry).startswith("read:/etc/*") for entry in capabilities(text).file_access)


def test_workspace_paths_are_written_relative_to_the_workspace(make: Make, resolver: LocationResolver) -> None:
    text = observe(make, [FileRequest(path=str(resolver.workspace / "src" / "main.py"))], resolver)
    assert capabilities(text).file_access == ("read:workspace/src/main.py",)


def test_many_subdomains_collapse_to_a_wildcard_with_their_port(make: Make, resolver: LocationResolver) -> None:
    hosts = [NetworkRequest(host=f"{n}.cdn.example.com", port=443) for n in ("a", "b", "c")]
    text = observe(make, [*hosts, NetworkRequest(host="api.other.org", port=8443)], resolver)
    assert capabilities(text).network_access == ("*.cdn.example.com:443", "api.other.org:8443")


def test_nothing_observed_gives_an_empty_table(make: Make, resolver: LocationResolver) -> None:
    text = observe(make, [], resolver)
    assert capabilities(text) == Capabilities()
