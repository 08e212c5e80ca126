"""Hand-written parsers of the SDK refuse what they cannot represent with their own clear error.

Each case is an input the coverage-guided fuzzer found (fuzz/corpus/*/crash-*):
it used to escape as ``re.error``, ``ValueError``, ``OverflowError`` or an
infinite value instead of the parser's documented error.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from symphony.hookspecs import (
    ApiRange,
    ApiRangeSyntaxError,
    Capabilities,
    FileAccess,
    NetworkAccess,
    PermissionSyntaxError,
    parse_cpu,
    parse_memory,
    parse_permission,
)
from symphony.hookspecs._permission_rules import compile_glob, covers, split_host
from tests.conftest import Symphony
from tests.extensions.helpers import manifest_text

# -- path globs ---------------------------------------------------------------------------------


def test_a_permission_with_a_backwards_character_range_is_refused_when_parsed() -> None:
    with pytest.raises(PermissionSyntaxError, match=r"range z-a in '\[z-a\]' runs backwards.*'\[a-z\]'"):
        parse_permission("file:read:/a/[z-a]")


def test_a_manifest_declaring_a_backwards_character_range_is_refused() -> None:
    table = b'file_access = [{ scope = "read", paths = ["/data/[9-0].csv"] }]'
    with pytest.raises(PermissionSyntaxError, match=r"range 9-0 .* runs backwards"):
        msgspec.toml.decode(table, type=Capabilities).permissions()


def test_a_short_form_with_a_backwards_character_range_is_refused() -> None:
    with pytest.raises(PermissionSyntaxError, match="runs backwards"):
        Capabilities(file_access=("read:~/[!z-a]",)).permissions()


def test_a_backwards_range_never_reaches_a_regular_expression_compile() -> None:
    with pytest.raises(PermissionSyntaxError):
        compile_glob("/a/[z-a]")


@pytest.mark.parametrize("pattern", ["/a/[!]", "/a/[]", "/a/[x"])
def test_a_bracket_without_a_class_is_a_literal_character(pattern: str) -> None:
    assert compile_glob(pattern).fullmatch(pattern)
    assert covers(parse_permission(f"file:read:{pattern}"), parse_permission(f"file:read:{pattern}"))


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/a/[]]", "/a/]", True),
        ("/a/[!]]", "/a/x", True),
        ("/a/[!]]", "/a/]", False),
        ("/a/[a-c-]", "/a/-", True),
        ("/a/[^x]", "/a/^", True),  # '^' is a member, as in fnmatch: negation is '!'
        ("/a/[^x]", "/a/y", False),
        ("/a/[&&~~||]", "/a/~", True),  # regex set operators are plain members
        ("/a[!x]b", "/a/b", False),  # a class never matches the separator
        ("/a[.-0]b", "/a/b", False),
    ],
)
def test_character_classes_match_one_character_of_one_segment(pattern: str, path: str, expected: bool) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "possible nested set" FutureWarning either
        assert (compile_glob(pattern).fullmatch(path)) is expected


# -- host ports ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["network:h:²", "network:h:0", "network:h:65536", "network:[::1]:99999"])
def test_a_network_permission_with_a_port_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(PermissionSyntaxError, match=r"is not a number from 1 to 65535"):
        parse_permission(text)


def test_a_manifest_declaring_a_host_with_a_bad_port_is_refused() -> None:
    with pytest.raises(PermissionSyntaxError, match="'h:99999'"):
        Capabilities(network_access=("h:99999",)).permissions()


@pytest.mark.parametrize("port", [1, 443, 65535])
def test_a_port_in_range_is_parsed(port: int) -> None:
    assert split_host(f"H.example:{port}") == ("h.example", port)
    assert parse_permission(f"network:h:{port}") == NetworkAccess(hosts=(f"h:{port}",))


def test_a_host_with_unicode_digits_that_got_past_parsing_grants_nothing() -> None:
    host, port = split_host("h:²")
    assert (host, port) == ("h:²", None)  # never any request's host: not "every port of h"
    granted, declared = NetworkAccess(hosts=("h:²",)), NetworkAccess(hosts=("h:2",))
    assert not covers(granted, declared)


def test_the_cli_refuses_a_grant_with_a_backwards_range_without_a_traceback(
    symphony: Callable[..., Symphony],
) -> None:
    result = symphony().run("ext", "grant", "anything", "file:read:/a/[z-a]")
    assert result.returncode == 2, result.stderr
    assert "runs backwards" in result.stderr and "Traceback" not in result.stderr


# -- resource sizes -----------------------------------------------------------------------------


def test_a_memory_limit_of_hundreds_of_digits_is_refused_with_the_limit() -> None:
    with pytest.raises(ValueError, match="larger than the limit of 1 PiB"):
        parse_memory("9" * 400 + "GB")


def test_a_memory_limit_just_above_one_pebibyte_is_refused_and_one_pebibyte_is_not() -> None:
    assert parse_memory("1024TiB") == 2**50
    with pytest.raises(ValueError, match="larger than the limit"):
        parse_memory("1025TiB")


def test_a_cpu_limit_of_hundreds_of_digits_is_refused_not_infinite_cores() -> None:
    with pytest.raises(ValueError, match=r"more than 1024 cores \('102400%'\)"):
        parse_cpu("9" * 400 + "%")


def test_the_largest_cpu_limit_is_finite() -> None:
    cores = parse_cpu("102400%")
    assert cores == 1024 and math.isfinite(cores)


# -- API version ranges -------------------------------------------------------------------------


def test_a_version_range_of_thousands_of_digits_is_a_range_syntax_error() -> None:
    with pytest.raises(ApiRangeSyntaxError, match="more than 9 digits"):
        ApiRange("9" * 5000)


def test_a_version_number_of_nine_digits_is_accepted() -> None:
    assert ApiRange(">=123456789").contains((123456789, 0)) and not ApiRange("^1.0").contains((123456789, 0))


def test_a_version_in_digits_of_another_script_is_refused() -> None:
    with pytest.raises(ApiRangeSyntaxError, match="is not a version"):
        ApiRange("^\uff11.0")  # FULLWIDTH DIGIT ONE


def test_file_access_from_text_keeps_its_pattern() -> None:
    assert parse_permission("file:read:/a/[a-z]*.txt") == FileAccess(scope="read", paths=("/a/[a-z]*.txt",))


# -- through `symphony ext validate` ------------------------------------------------------------


def _validate(symphony: Callable[..., Symphony], tmp_path: Path, old: str, new: str) -> str:
    """The output of validating the test manifest with ``old`` replaced by ``new``; it must fail cleanly."""
    text = manifest_text()
    assert old in text
    path = tmp_path / "symphony-extension.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    result = symphony().run("ext", "validate", str(path))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    return result.stdout + result.stderr


def test_validate_reports_a_dependency_range_of_thousands_of_digits(
    symphony: Callable[..., Symphony], tmp_path: Path
) -> None:
    output = _validate(symphony, tmp_path, 'symphony = "^1.0"', f'symphony = "{"9" * 5000}"')
    assert "dependencies.symphony: expected a version range" in output


def test_validate_reports_a_memory_limit_of_hundreds_of_digits(
    symphony: Callable[..., Symphony], tmp_path: Path
) -> None:
    output = _validate(symphony, tmp_path, 'memory_limit = "512MiB"', f'memory_limit = "{"9" * 400}GB"')
    assert "resources.memory_limit: expected a limit a machine can have" in output
    assert "is larger than the limit of 1 PiB" in output
