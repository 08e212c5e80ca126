"""The permission types: the manifest's short forms and the one-line text form."""

from __future__ import annotations

import msgspec
import pytest

from symphony.hookspecs import (
    Capabilities,
    FileAccess,
    ModelAccess,
    NetworkAccess,
    Permission,
    PermissionSyntaxError,
    SystemAccess,
    format_permission,
    parse_permission,
)


def test_capabilities_accept_the_seeds_short_form_and_the_full_form() -> None:
    table = b"""
model_access = ["gpt-4"]
network_access = ["api.example.com"]
file_access = ["read:config", { scope = "write", paths = ["~/notes/**"], operations = ["write"] }]
"""
    declared = msgspec.toml.decode(table, type=Capabilities).permissions()
    assert declared == (
        FileAccess(scope="read", paths=("config",)),
        FileAccess(scope="write", paths=("~/notes/**",), operations=("write",)),
        NetworkAccess(hosts=("api.example.com",)),
        ModelAccess(models=("gpt-4",)),
    )


def test_a_malformed_short_form_names_the_entry_and_the_accepted_forms() -> None:
    with pytest.raises(PermissionSyntaxError, match=r"'reed:config' is not '<scope>:<path>'.*read, write"):
        Capabilities(file_access=("reed:config",)).permissions()


@pytest.mark.parametrize(
    "text",
    ["file:read:/data/**", "file:write:cache:write,create", "network:*.example.com:443", "system:processes", "model:*"],
)
def test_text_form_round_trips(text: str) -> None:
    assert format_permission(parse_permission(text)) == [text]


def test_file_operations_default_to_what_the_scope_allows() -> None:
    assert FileAccess(scope="read", paths=("/x",)).allowed_operations() == ("read", "list")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("file:reed:/x", "unknown scope 'reed'"),
        ("file:read", "missing the path pattern"),
        ("system:root", "unknown system capability 'root'"),
        ("disk:/x", "unknown kind 'disk'"),
        ("network", "expected '<kind>:<target>'"),
    ],
)
def test_malformed_text_says_why_and_lists_the_forms(text: str, why: str) -> None:
    with pytest.raises(PermissionSyntaxError, match="Accepted forms: file:") as caught:
        parse_permission(text)
    assert why in str(caught.value)


def test_permissions_travel_as_tagged_json() -> None:
    granted: list[Permission] = [SystemAccess(capabilities=("environment",)), NetworkAccess(hosts=("a.b",))]
    wire = msgspec.json.encode(granted)
    assert b'"kind":"system"' in wire
    assert msgspec.json.decode(wire, type=list[Permission]) == granted
