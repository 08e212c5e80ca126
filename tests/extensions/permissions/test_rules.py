"""Static rules shared with the workflow validator: coverage, policy denial, the workflow stage."""

from __future__ import annotations

import re

import hypothesis
import msgspec
import pytest
from hypothesis import strategies as st

from symphony.hookspecs import (
    DistroProfile,
    FileAccess,
    ModelAccess,
    NetworkAccess,
    NodeDenial,
    NodePermissions,
    PermissionPolicy,
    SystemAccess,
    parse_permission,
    workflow_permission_denials,
)
from symphony.hookspecs._permission_rules import compile_glob, covers, is_denied_by


@pytest.mark.parametrize(
    ("granted", "declared", "expected"),
    [
        ("file:read:/data/**", "file:read:/data/**", True),
        ("file:read:/data/**", "file:read:/data/sub/*.csv", True),
        ("file:read:/data/**", "file:read:/data/one.txt", True),
        ("file:read:/data/*", "file:read:/data/**", False),
        ("file:read:/data/*.txt", "file:read:/data/a.txt", True),
        ("file:read:/data/**", "file:write:/data/a.txt", False),
        ("file:write:/data/**", "file:read:/data/a.txt", False),
        ("file:write:/data/**", "file:write:/data/a.txt", True),
        ("file:read:/data/**", "file:write:/data/a.txt:list", True),
        ("file:admin:/data/**", "file:write:/data/a.txt:create", True),
        ("file:read:data", "file:read:data/models/**", True),
        ("file:read:data/models/**", "file:read:data", False),
        ("network:*.example.com", "network:api.example.com:443", True),
        ("network:*.example.com", "network:example.com", False),
        ("network:api.example.com:443", "network:api.example.com", False),
        ("network:api.example.com", "network:api.example.com:8443", True),
        ("model:*", "model:gpt-4", True),
        ("model:claude-*", "model:claude-3", True),
        ("model:gpt-4", "model:*", False),
        ("system:processes", "system:environment", False),
        ("network:api.example.com", "model:api.example.com", False),
    ],
)
def test_a_grant_covers_a_declaration(granted: str, declared: str, expected: bool) -> None:
    assert covers(parse_permission(granted), parse_permission(declared)) is expected


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/x/**", "/x", True),
        ("/x/**", "/x/a/b", True),
        ("/x/**", "/xy", False),
        ("/x/*/z", "/x/a/z", True),
        ("/x/*/z", "/x/a/b/z", False),
        ("/x/**/z", "/x/z", True),
        ("/x/file?.[ch]", "/x/file1.c", True),
        ("/x/file?.[!ch]", "/x/file1.c", False),
    ],
)
def test_path_globs(pattern: str, path: str, expected: bool) -> None:
    assert compile_glob(pattern).fullmatch(path) is expected


def test_a_glob_of_many_stars_answers_without_backtracking() -> None:
    """A backtracking regex took exponential time to fail on this (a ReDoS found by fuzzing)."""
    assert compile_glob("/" + "*a" * 40 + "b").fullmatch("/" + "a" * 200) is False
    assert compile_glob("/**a" * 30 + "*b").fullmatch("/a" * 100) is False
    assert compile_glob("/**a" * 30 + "*b").fullmatch("/a" * 30 + "b") is True


def _reference(pattern: str) -> re.Pattern[str]:
    """The regular expression a glob means (correct, but it backtracks: fine for short inputs)."""
    parts = re.split(r"(/\*\*(?=/|$)|\*\*|\*|\?)", pattern)
    meaning = {"/**": "(?:/.*)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(meaning[part] if index % 2 else re.escape(part) for index, part in enumerate(parts)))


@hypothesis.example(pattern="*?*", path="a/")  # a separator once slipped past a star
@hypothesis.given(
    pattern=st.text(alphabet="ab/*?", max_size=10),
    path=st.text(alphabet="ab/", max_size=10),
)
def test_the_glob_automaton_means_what_the_glob_regex_means(pattern: str, path: str) -> None:
    assert compile_glob(pattern).fullmatch(path) is (_reference(pattern).fullmatch(path) is not None)


def test_policy_denies_a_whole_category_or_what_a_denied_permission_covers() -> None:
    assert is_denied_by(["network"], NetworkAccess(hosts=("a.b",)))
    only_writes = ["file:write:/etc/**:write,create,delete"]
    assert is_denied_by(only_writes, FileAccess(scope="write", paths=("/etc/passwd",), operations=("write",)))
    assert not is_denied_by(only_writes, FileAccess(scope="read", paths=("/etc/passwd",)))


def test_a_denied_write_scope_denies_writing_but_not_reading() -> None:
    assert is_denied_by(["file:write:/etc/**"], FileAccess(scope="write", paths=("/etc/passwd",)))
    assert not is_denied_by(["file:write:/etc/**"], FileAccess(scope="read", paths=("/etc/passwd",)))


def test_a_denied_admin_scope_denies_reading_too() -> None:
    assert is_denied_by(["file:admin:/etc/**"], FileAccess(scope="read", paths=("/etc/passwd",)))


def test_a_profile_policy_with_a_malformed_entry_fails_to_decode_naming_it() -> None:
    raw = b'{"name": "p", "permissions": {"deny": ["netwrk"]}}'
    with pytest.raises(msgspec.ValidationError, match=r"permissions\.deny entry 'netwrk' is neither a category"):
        msgspec.json.decode(raw, type=DistroProfile)


def test_a_profile_policy_decodes_from_toml() -> None:
    raw = b"""
name = "acme"
[permissions]
deny = ["system:processes"]
trusted_publishers = ["acme"]
grants = { "*" = ["file:admin:temp"] }
"""
    profile = msgspec.toml.decode(raw, type=DistroProfile)
    assert profile.permissions == PermissionPolicy(
        deny=("system:processes",), trusted_publishers=("acme",), grants={"*": ("file:admin:temp",)}
    )


def nodes() -> list[NodePermissions]:
    return [
        NodePermissions(node="fetch", extension="fetcher", declared=(NetworkAccess(hosts=("api.example.com",)),)),
        NodePermissions(
            node="summarise",
            extension="writer",
            declared=(ModelAccess(models=("gpt-4",)), FileAccess(scope="read", paths=("~/notes/**",))),
        ),
        NodePermissions(node="fetch-again", extension="fetcher", declared=(NetworkAccess(hosts=("api.example.com",)),)),
        NodePermissions(node="plain", extension="pure"),
    ]


def test_the_workflow_stage_reports_every_node_that_would_be_denied() -> None:
    grants = {"writer": (ModelAccess(models=("*",)),)}
    denials = workflow_permission_denials(nodes(), grants)
    assert denials == [
        NodeDenial(
            node="fetch",
            extension="fetcher",
            missing=("network:api.example.com",),
            command="symphony ext grant fetcher network:api.example.com",
        ),
        NodeDenial(
            node="summarise",
            extension="writer",
            missing=("file:read:~/notes/**",),
            command="symphony ext grant writer 'file:read:~/notes/**'",
        ),
        NodeDenial(
            node="fetch-again",
            extension="fetcher",
            missing=("network:api.example.com",),
            command="symphony ext grant fetcher network:api.example.com",
        ),
    ]


def test_the_workflow_stage_passes_when_everything_is_granted_or_trusted() -> None:
    grants = {"fetcher": (NetworkAccess(hosts=("*.example.com",)),)}
    assert workflow_permission_denials(nodes(), grants, trusted={"writer"}) == []


def test_the_workflow_stage_reports_what_the_policy_forbids_even_when_trusted() -> None:
    [denial] = workflow_permission_denials(nodes()[:1], {}, trusted={"fetcher"}, deny=["network", "system:processes"])
    assert denial.forbidden == ("network:api.example.com",) and denial.missing == () and denial.command is None
    assert "forbidden by the distribution's policy: network:api.example.com" in denial.message()


def test_a_node_denial_message_names_node_extension_and_command() -> None:
    [denial] = workflow_permission_denials(
        [NodePermissions(node="n1", extension="sys", declared=(SystemAccess(capabilities=("devices",)),))], {}
    )
    assert denial.message() == (
        "Node 'n1' (extension 'sys') would be denied; not granted: system:devices "
        "(grant with `symphony ext grant sys system:devices`)."
    )
