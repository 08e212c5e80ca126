"""Reading a manifest and reporting every problem in it at once.

msgspec stops at the first error, so the raw TOML table is walked section by
section and field by field: every unknown key, missing key and mistyped value
is a :class:`ManifestProblem` with its TOML path.  Only a manifest with no
problem is converted into a :class:`Manifest`.  Then come the checks types
cannot express: units, version ranges, defaults against their field, entry
points and port types.
"""

from __future__ import annotations

import functools
import re
import tomllib
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

import msgspec

from symphony.hookspecs import (
    API_VERSION,
    EXTENSION_NAME_PATTERN,
    FIELD_NAME_PATTERN,
    MANIFEST_SCHEMA_VERSION,
    MAX_CONFIG_BYTES,
    MAX_DEPTH,
    PORT_TYPES,
    ApiRange,
    ApiRangeSyntaxError,
    Capabilities,
    ConfigField,
    Contributes,
    Manifest,
    ManifestProblem,
    PermissionSyntaxError,
    Resources,
    Runtime,
    decode_bounded,
    loads_toml,
    parse_cpu,
    parse_memory,
    read_bounded,
)

from ._requirements import requirement_problem
from ._values import describe, value_problem

__all__ = ["check_manifest", "check_manifest_text", "load_manifest"]

#: Friendlier expectations than a regular expression, by TOML path.
_EXPECTED: Final = {
    "extension.name": "a lowercase dashed name such as 'my-extension' (letters, digits, single dashes)",
    "extension.version": "a semantic version such as '1.0.0'",
    "resources.timeout": "a number of seconds > 0",
}
_MSGSPEC_TYPES: Final = {
    "`str`": "a string",
    "`int`": "an integer",
    "`float`": "a number",
    "`bool`": "true or false",
    "`array`": "an array",
    "`object`": "a table",
    "`null`": "nothing",
}
_API_KEYS: Final = ("symphony", "symphony-core")
_ENTRY: Final = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_NODE_NAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
_PORT_NAME: Final = re.compile(r"^[A-Za-z_]\w*$")
_TOML_LOCATION: Final = re.compile(r"\s*\(at line (\d+), column (\d+)\)$|\s*\(at end of document\)$")


class _LimitExceeded(Exception):
    """A manifest over the size or nesting limits of every document (symphony.hookspecs.decode_bounded)."""


def _limit_problem(error: _LimitExceeded) -> ManifestProblem:
    return ManifestProblem(
        path="",
        expected=f"at most {MAX_CONFIG_BYTES // 2**20} MiB and {MAX_DEPTH} levels of nesting",
        found=str(error).rstrip("."),
    )


class _Problems(list[ManifestProblem]):
    def add(self, path: str, expected: str, found: str, fix: str = "") -> None:
        self.append(ManifestProblem(path=path, expected=expected, found=found, fix=fix))


def load_manifest(path: Path) -> Manifest:
    """The manifest at ``path``; ConfigurationError listing every problem if it has any."""
    from symphony.hookspecs import ConfigurationError

    manifest, problems = check_manifest(path)
    if manifest is None:
        lines = "\n".join(f"  {p}" for p in problems)
        raise ConfigurationError(f"Manifest {path} has {len(problems)} problem(s):\n{lines}")
    return manifest


def check_manifest(path: Path, *, installed: bool = False) -> tuple[Manifest | None, list[ManifestProblem]]:
    """Read ``path`` and check it; the manifest is None whenever a problem was found.

    ``installed`` also requires files the manifest names (a wasm entry) to exist
    beside it; a source tree may build them later, so it is off by default.
    """
    try:
        with path.open("rb") as file:
            data = read_bounded(file, what="a manifest that", error=_LimitExceeded, limit=MAX_CONFIG_BYTES)
        text = data.decode("utf-8")
    except _LimitExceeded as error:
        return None, [_limit_problem(error)]
    except OSError as error:
        return None, [
            ManifestProblem(
                path="",
                expected="a readable manifest file",
                found=f"{path}: {error.strerror or error}",
                fix="Check the path, or give the extension's source directory holding symphony-extension.toml.",
            )
        ]
    except UnicodeDecodeError:
        return None, [ManifestProblem(path="", expected="UTF-8 text", found="undecodable bytes", fix="Save as UTF-8.")]
    return check_manifest_text(text, package_dir=path.parent if installed else None)


def check_manifest_text(text: str, *, package_dir: Path | None = None) -> tuple[Manifest | None, list[ManifestProblem]]:
    """Check a manifest's text; with ``package_dir`` (an installed package), the files it names must exist there."""
    try:
        raw = decode_bounded(lambda: loads_toml(text), what="a manifest that", error=_LimitExceeded)
    except tomllib.TOMLDecodeError as error:
        return None, [_syntax_problem(error)]
    except _LimitExceeded as error:
        return None, [_limit_problem(error)]
    problems = _Problems()
    manifest = _convert_whole(raw)
    if manifest is not None:  # the common case: well-formed, so only the meaning is left to check
        for key, check in _MEANING.items():
            check(getattr(manifest, key), package_dir, problems)
        return (None if problems else manifest), list(problems)
    _check_schema_version(raw, problems)
    fields = _fields(Manifest)
    for key in raw:
        if key not in fields:
            _unknown(problems, key, key, fields)
    for name, info in fields.items():
        if info.required and name not in raw:
            expected = "a key" if name == "schema_version" else f"a [{name}] table"
            problems.add(name, expected, "nothing", _missing_fix(name))
    for key, value in raw.items():
        if key == "dependencies":
            _check_dependencies(value, problems)
        elif key in fields and key != "schema_version":
            before = len(problems)
            _walk(value, fields[key].type, key, problems)
            if key in _MEANING:
                _check_meaning(
                    key, value, fields[key].type, package_dir=package_dir, problems=problems, found=problems[before:]
                )
    return None, list(problems)


def _convert_whole(raw: dict[str, Any]) -> Manifest | None:
    """The manifest if it converts in one go (msgspec stops at the first error, so None means: walk it)."""
    first = _Problems()
    _check_schema_version(raw, first)
    _check_dependencies(raw.get("dependencies", {}), first)
    if first:
        return None
    try:
        return msgspec.convert({**raw, "dependencies": _split_dependencies(raw.get("dependencies", {}))}, Manifest)
    except msgspec.ValidationError:
        return None


@functools.cache
def _fields(struct: type[msgspec.Struct]) -> dict[str, msgspec.structs.FieldInfo]:
    """A Struct's fields by TOML key (``msgspec.structs.fields`` re-evaluates annotations on every call)."""
    return {f.encode_name: f for f in msgspec.structs.fields(struct)}


def _check_meaning(
    key: str,
    value: Any,
    annotation: Any,
    *,
    package_dir: Path | None,
    problems: _Problems,
    found: list[ManifestProblem],
) -> None:
    """Run a section's meaning checks on the parts of it that are well-formed."""
    if found and isinstance(value, dict):
        broken = {p.path.removeprefix(f"{key}.").split(".")[0].split("[")[0] for p in found}
        value = {k: v for k, v in value.items() if k not in broken}
    try:
        section = msgspec.convert(value, annotation)
    except msgspec.ValidationError:
        return  # a required key is broken: its problem is already reported
    _MEANING[key](section, package_dir, problems)


# -- structure -----------------------------------------------------------------


def _syntax_problem(error: tomllib.TOMLDecodeError) -> ManifestProblem:
    message = str(error)
    match = _TOML_LOCATION.search(message)
    line = column = None
    if match is not None and match.group(1):
        line, column = int(match.group(1)), int(match.group(2))
    reason = _TOML_LOCATION.sub("", message)
    where = f"line {line}" if line is not None else "the end of the file"
    return ManifestProblem(
        path="",
        expected="valid TOML",
        found=reason[0].lower() + reason[1:] if reason else "a syntax error",
        fix=f"Correct the TOML syntax at {where} (https://toml.io).",
        line=line,
        column=column,
    )


def _check_schema_version(raw: dict[str, Any], problems: _Problems) -> None:
    version = raw.get("schema_version")
    if version is None:
        return  # reported as a missing key
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.add(
            "schema_version",
            f"an integer from 1 to {MANIFEST_SCHEMA_VERSION}",
            describe(version),
            f"Write schema_version = {MANIFEST_SCHEMA_VERSION}.",
        )
    elif version > MANIFEST_SCHEMA_VERSION:
        problems.add(
            "schema_version",
            f"a schema version up to {MANIFEST_SCHEMA_VERSION}",
            str(version),
            "The extension needs a newer Symphony: upgrade symphony (pip install -U symphony-platform).",
        )


def _missing_fix(name: str) -> str:
    if name == "schema_version":
        return f"Add schema_version = {MANIFEST_SCHEMA_VERSION} at the top of the manifest."
    return f"Add the [{name}] table; see docs/extensions.md."


def _unknown(problems: _Problems, path: str, key: str, fields: Mapping[str, object]) -> None:
    problems.add(
        path,
        f"one of the keys {', '.join(fields)}",
        f"unknown key {key!r}",
        "Remove it or correct its spelling.",
    )


def _struct_type(annotation: Any) -> type[msgspec.Struct] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct) else None


def _walk(value: Any, annotation: Any, path: str, problems: _Problems) -> None:
    """Report every problem of ``value`` as ``annotation``, descending into tables of Structs."""
    struct = _struct_type(annotation)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if struct is not None:
        if not isinstance(value, dict):
            problems.add(path, "a table", describe(value), f"Write [{path}] as a table of keys.")
            return
        fields = _fields(struct)
        for key in value:
            if key not in fields:
                _unknown(problems, f"{path}.{key}", key, fields)
        for name, info in fields.items():
            if info.required and name not in value:
                problems.add(f"{path}.{name}", "a key", "nothing", f"Add {name} = ... to [{path}].")
        for key, item in value.items():
            if key in fields:
                _walk(item, fields[key].type, f"{path}.{key}", problems)
    elif origin is dict and _struct_type(args[1]) is not None:
        if not isinstance(value, dict):
            problems.add(path, "a table", describe(value), f"Write [{path}] as a table.")
            return
        for key, item in value.items():
            _walk(item, args[1], f"{path}.{key}", problems)
    elif origin is tuple and len(args) == 2 and args[1] is Ellipsis and _struct_type(args[0]) is not None:
        if not isinstance(value, list):
            problems.add(path, "an array of tables", describe(value), f"Write each entry as [[{path}]].")
            return
        for number, item in enumerate(value):
            _walk(item, args[0], f"{path}[{number}]", problems)
    else:
        _convert(value, annotation, path, problems)


def _convert(value: Any, annotation: Any, path: str, problems: _Problems) -> None:
    try:
        msgspec.convert(value, annotation)
    except msgspec.ValidationError as error:
        message, _, location = str(error).partition(" - at `")
        where = path + location.rstrip("`").removeprefix("$")
        found = describe(_at(value, location))
        literal = _literal_args(annotation)
        if literal and not location:
            expected = f"one of {', '.join(repr(a) for a in literal)}"
        elif where in _EXPECTED:
            expected = _EXPECTED[where]
        else:
            expected = _expected_from(message)
        problems.add(where, expected, found, _fix_for(where))


def _literal_args(annotation: Any) -> tuple[Any, ...]:
    return typing.get_args(annotation) if typing.get_origin(annotation) is typing.Literal else ()


def _at(value: Any, location: str) -> Any:
    """The item a msgspec location (``$[2].scope``) points at, or ``value`` if it cannot be followed."""
    for part in re.findall(r"\[(\d+)\]|\.(\w+)", location.rstrip("`")):
        index, key = part
        try:
            value = value[int(index)] if index else value[key]
        except (LookupError, TypeError):
            break
    return value


def _expected_from(message: str) -> str:
    match = re.match(r"Expected (`\w+`)(.*?)(, got `\w+`)?$", message)
    if match is None:
        if message.startswith("Invalid enum value"):
            return "one of the accepted values (see docs/extensions.md)"
        return message[0].lower() + message[1:]
    kind, rest, _ = match.groups()
    return _MSGSPEC_TYPES.get(kind, kind) + rest


def _fix_for(path: str) -> str:
    if path == "extension.name":
        return "Use lowercase letters, digits and single dashes, starting with a letter."
    if path.startswith("capabilities.file_access"):
        return "Use the short form 'read:config' or a table {scope, paths, operations}."
    return "See docs/extensions.md for this key."


# -- [dependencies] ------------------------------------------------------------


def _check_dependencies(value: Any, problems: _Problems) -> None:
    if not isinstance(value, dict):
        problems.add("dependencies", "a table", describe(value), 'Write [dependencies] with symphony = "^1.0".')
        return
    given = [key for key in _API_KEYS if key in value]
    if len(given) > 1:
        problems.add(
            "dependencies.symphony-core",
            "one Symphony API range",
            "both 'symphony' and its alias 'symphony-core'",
            'Keep only symphony = "^1.0".',
        )
    for key, text in value.items():
        path = f"dependencies.{key}"
        if not isinstance(text, str):
            problems.add(path, "a version range string such as '^1.0'", describe(text), "Quote the range.")
            continue
        if key not in _API_KEYS and re.match(EXTENSION_NAME_PATTERN, key) is None:
            problems.add(
                path,
                "'symphony' or the name of another extension",
                f"key {key!r}",
                "Python packages belong in [runtime] python_dependencies; extension names are lowercase and dashed.",
            )
            continue
        try:
            wanted = ApiRange(text)
        except ApiRangeSyntaxError:
            problems.add(path, "a version range such as '^1.0', '~1.2' or '>=1.0,<2'", describe(text))
            continue
        if key in _API_KEYS and not wanted.contains(API_VERSION):
            have = f"{API_VERSION[0]}.{API_VERSION[1]}"
            problems.add(
                path,
                f"a range containing this Symphony's API {have}",
                repr(text),
                "Upgrade symphony if the extension needs a newer API, or widen the range if it works with this one.",
            )


def _split_dependencies(table: dict[str, str]) -> dict[str, Any]:
    api = next((table[key] for key in _API_KEYS if key in table), "*")
    return {"symphony": api, "extensions": {k: v for k, v in table.items() if k not in _API_KEYS}}


# -- meaning -------------------------------------------------------------------


def _check_resources(resources: Resources, package_dir: Path | None, problems: _Problems) -> None:
    for path, text, parse in (
        ("resources.memory_limit", resources.memory_limit, parse_memory),
        ("resources.cpu_limit", resources.cpu_limit, parse_cpu),
    ):
        try:
            parse(text)
        except ValueError as error:
            if "limit" in str(error):  # well formed, beyond what any machine has
                problems.add(path, "a limit a machine can have", describe(text), str(error))
                continue
            if "memory" in path:
                expected, fix = (
                    "a size such as '2GB' or '512MiB'",
                    "Units: B, KB, MB, GB, TB (x1000), KiB, MiB, GiB, TiB.",
                )
            else:
                expected, fix = "a percentage of one core such as '50%'", "'200%' is two cores."
            problems.add(path, expected, describe(text), fix)


def _check_capabilities(capabilities: Capabilities, package_dir: Path | None, problems: _Problems) -> None:
    for number, entry in enumerate(capabilities.file_access):
        path = f"capabilities.file_access[{number}]"
        if isinstance(entry, str):
            scope, sep, pattern = entry.partition(":")
            if not sep or scope not in ("read", "write", "execute", "admin") or not pattern:
                problems.add(
                    path,
                    "'<scope>:<path>' with scope read, write, execute or admin (e.g. 'read:config')",
                    describe(entry),
                    'Or write a table {scope = "read", paths = ["~/notes/**"]}.',
                )
                continue
        _check_permissions(path, entry, Capabilities(file_access=(entry,)), problems)
    for number, host in enumerate(capabilities.network_access):
        path = f"capabilities.network_access[{number}]"
        _check_permissions(path, host, Capabilities(network_access=(host,)), problems)


def _check_permissions(path: str, entry: object, declared: Capabilities, problems: _Problems) -> None:
    """A declaration the checker could not read (a backwards glob range, a port that is not one) is refused here,
    at validation, not first when a workflow or a permission check meets it."""
    try:
        declared.permissions()
    except PermissionSyntaxError as error:
        found = describe(entry) if isinstance(entry, str) else "a file_access table"
        problems.add(path, "a permission the host can read", found, str(error))


def _check_configuration(fields: dict[str, ConfigField], package_dir: Path | None, problems: _Problems) -> None:
    for name, spec in fields.items():
        _check_field(name, spec, problems)


def _check_field(name: str, spec: ConfigField, problems: _Problems) -> None:
    path = f"configuration.{name}"
    if re.match(FIELD_NAME_PATTERN, name) is None:
        problems.add(path, "a field name of lowercase letters, digits and underscores", repr(name), "Rename the field.")
    if spec.min is not None and spec.max is not None and spec.min > spec.max:
        problems.add(f"{path}.min", f"min <= max ({spec.max:g})", f"{spec.min:g}", "Swap or correct the bounds.")
    if (spec.min is not None or spec.max is not None) and spec.type in ("boolean", "table"):
        problems.add(path, "min/max only on integer, float, string or list fields", f"a {spec.type} field with bounds")
    if spec.secret:
        if spec.type != "string":
            problems.add(f"{path}.type", "'string' for a secret field", repr(spec.type), "Secrets are strings.")
        if spec.default is not None:
            problems.add(
                f"{path}.default",
                "no default for a secret field",
                "a default value (hidden)",
                "Remove the default: secrets come from the user's environment or secrets file.",
            )
        return
    if spec.default is None:
        return
    if spec.required:
        problems.add(f"{path}.default", "no default on a required field", describe(spec.default), "Remove either.")
    if wrong := value_problem(spec, spec.default):
        expected, found = wrong
        problems.add(f"{path}.default", expected, found, "Make the default fit the field's type and bounds.")


def _check_mcp_runtime(runtime: Runtime, problems: _Problems) -> None:
    if bool(runtime.command) == bool(runtime.entry):
        problems.add(
            "runtime",
            "exactly one of command and entry for kind = 'mcp'",
            "both" if runtime.command else "neither",
            "Give the server's argv as command = [\"mcp-server-time\"], or a Python entry = 'module:callable'.",
        )
    elif runtime.entry and _ENTRY.match(runtime.entry) is None:
        problems.add(
            "runtime.entry",
            "'module:callable' such as 'my_server.main:run'",
            describe(runtime.entry),
            "An mcp extension's entry names the Python callable that serves MCP over stdio.",
        )


def _check_runtime(runtime: Runtime, package_dir: Path | None, problems: _Problems) -> None:
    if runtime.kind == "mcp":
        _check_mcp_runtime(runtime, problems)
    elif runtime.command:
        problems.add(
            "runtime.command",
            "command only with kind = 'mcp'",
            f"kind = {runtime.kind!r}",
            "Name a Python callable in entry, or run an MCP server with kind = 'mcp'.",
        )
    elif not runtime.entry:
        problems.add("runtime.entry", "a key", "nothing", f"A {runtime.kind} extension names its entry point.")
    elif runtime.kind in ("python", "subprocess"):
        if _ENTRY.match(runtime.entry) is None:
            problems.add(
                "runtime.entry",
                "'module:callable' such as 'my_extension.main:run'",
                describe(runtime.entry),
                f"A {runtime.kind} extension names a Python callable.",
            )
    else:
        entry = Path(runtime.entry)
        if entry.suffix not in (".wasm", ".wat") or entry.is_absolute() or ".." in entry.parts:
            problems.add(
                "runtime.entry",
                "a .wasm or .wat file path relative to the package, such as 'operator.wasm'",
                describe(runtime.entry),
                "Ship the module or component inside the extension's package.",
            )
        elif package_dir is not None and not (package_dir / entry).is_file():
            problems.add(
                "runtime.entry",
                f"an existing file {runtime.entry!r} beside the manifest",
                f"no such file in {package_dir}",
                "Build the module (see docs/extensions.md) or correct the path.",
            )
    if runtime.python_dependencies and runtime.kind not in ("subprocess", "mcp"):
        problems.add(
            "runtime.python_dependencies",
            "python_dependencies only with kind = 'subprocess' or 'mcp'",
            f"kind = {runtime.kind!r}",
            "Drop them, or run the extension as a subprocess with its own environment.",
        )
    for number, requirement in enumerate(runtime.python_dependencies):
        if (found := requirement_problem(requirement)) is not None:
            problems.add(
                f"runtime.python_dependencies[{number}]",
                "a requirement from the package index such as 'httpx>=0.27' (a name and version specifiers)",
                found,
                "Publish the dependency to an index and name it; pip options belong in the host's pip_args.",
            )


def _port_type_ok(name: str) -> bool:
    name = name.strip()
    if name.startswith("list[") and name.endswith("]"):
        return _port_type_ok(name[5:-1])
    return name in PORT_TYPES


def _check_contributes(contributes: Contributes, package_dir: Path | None, problems: _Problems) -> None:
    for kind in ("instruments", "operators"):
        seen: set[str] = set()
        for number, node in enumerate(getattr(contributes, kind)):
            path = f"contributes.{kind}[{number}]"
            if _NODE_NAME.match(node.name) is None:
                problems.add(f"{path}.name", "a name starting with a letter (letters, digits, _ . -)", repr(node.name))
            if node.name in seen:
                problems.add(f"{path}.name", f"a name unique among the {kind}", f"{node.name!r} again", "Rename one.")
            seen.add(node.name)
            if node.models and kind == "operators":
                problems.add(f"{path}.models", "models only on instruments", f"{len(node.models)} model(s)")
            for direction in ("inputs", "outputs"):
                for port, spec in getattr(node, direction).items():
                    where = f"{path}.{direction}.{port}"
                    if _PORT_NAME.match(port) is None:
                        problems.add(where, "a port name of letters, digits and underscores", repr(port))
                    if not _port_type_ok(spec.type):
                        problems.add(
                            f"{where}.type",
                            f"a workflow type: {', '.join(PORT_TYPES)} or list[T]",
                            repr(spec.type),
                            "See docs/workflows.md for the type language.",
                        )


_MEANING: Final[dict[str, Callable[[Any, Path | None, _Problems], None]]] = {
    "resources": _check_resources,
    "capabilities": _check_capabilities,
    "configuration": _check_configuration,
    "runtime": _check_runtime,
    "contributes": _check_contributes,
}
