"""The extension manifest: ``symphony-extension.toml``, shipped inside an extension's package.

The seed's sections (``[extension]``, ``[capabilities]``, ``[dependencies]``,
``[resources]``, ``[configuration]``) plus what running it needs
(``[runtime]``) and what it offers to workflows (``[contributes]``).  These
are the types only; reading a file and reporting every problem at once is the
host's job (``symphony.host.extensions``), and ``docs/extensions.md`` is the
reference.  Unit parsing (``"2GB"``, ``"50%"``) lives on the types so that
every runtime reads limits the same way.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal, TypeAlias

import msgspec

from ._base import Base
from ._contributions import PortSpec
from ._permissions import Capabilities
from ._workflow import SEMVER_PATTERN

__all__ = [
    "CONFIG_TYPES",
    "EXTENSION_NAME_PATTERN",
    "FIELD_NAME_PATTERN",
    "MANIFEST_FILE",
    "MANIFEST_SCHEMA_VERSION",
    "PORT_TYPES",
    "ConfigField",
    "ConfigType",
    "ContributedNode",
    "Contributes",
    "Dependencies",
    "ExtensionInfo",
    "ExtensionType",
    "Manifest",
    "ManifestProblem",
    "Resources",
    "Runtime",
    "RuntimeKind",
    "Secret",
    "parse_cpu",
    "parse_memory",
]

#: The manifest's file name inside the extension's package.
MANIFEST_FILE: Final = "symphony-extension.toml"
#: The newest manifest schema this SDK understands.
MANIFEST_SCHEMA_VERSION: Final = 1
#: Extension names: lowercase words of letters and digits joined by single dashes.
EXTENSION_NAME_PATTERN: Final = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
#: Configuration field names: usable as identifiers and in environment variable names.
FIELD_NAME_PATTERN: Final = r"^[a-z_][a-z0-9_]*$"
#: The workflow type language's base names; ``list[T]`` nests any of them.
PORT_TYPES: Final = ("any", "json", "string", "number", "integer", "boolean", "object", "bytes")

ExtensionType: TypeAlias = Literal["instrument", "operator", "addon"]
RuntimeKind: TypeAlias = Literal["python", "subprocess", "wasm", "mcp"]
ConfigType: TypeAlias = Literal["string", "integer", "float", "boolean", "list", "table"]
CONFIG_TYPES: Final = ("string", "integer", "float", "boolean", "list", "table")

ExtensionName = Annotated[str, msgspec.Meta(pattern=EXTENSION_NAME_PATTERN, max_length=64)]

_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*$", re.IGNORECASE)
_MEMORY_UNITS: Final = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_CPU = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
#: Bounds of ``memory_limit`` and ``cpu_limit``: beyond any machine, within what the limits become.
MAX_MEMORY: Final = 2**50
MAX_CPU_CORES: Final = 1024


def parse_memory(text: str) -> int:
    """Bytes in ``"2GB"`` (decimal units), ``"512MiB"`` (binary) or ``"1048576"``; ValueError otherwise.

    At most :data:`MAX_MEMORY` (1 PiB, beyond any machine): a longer number would
    overflow the conversion to bytes, or the rlimit it becomes.
    """
    match = _MEMORY.match(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a size; write a number with a unit, e.g. '2GB', '512MiB' or '1048576' (bytes)"
        )
    number, unit = match.groups()
    size = float(number) * _MEMORY_UNITS[(unit or "b").lower()]  # a float of 400 digits is inf, not an error
    if size > MAX_MEMORY:
        raise ValueError(f"{text!r} is larger than the limit of 1 PiB; give the memory the extension needs, e.g. '2GB'")
    if int(size) <= 0:
        raise ValueError(f"{text!r} is not a positive size; give at least '1MB'")
    return int(size)


def parse_cpu(text: str) -> float:
    """CPU cores in ``"50%"`` (half of one core; ``"200%"`` is two cores); ValueError otherwise.

    At most :data:`MAX_CPU_CORES` cores: a longer number would be infinite cores.
    """
    match = _CPU.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a CPU share; write a positive percentage of one core, e.g. '50%' or '200%'")
    cores = float(match.group(1)) / 100
    if cores > MAX_CPU_CORES:
        raise ValueError(f"{text!r} is more than {MAX_CPU_CORES} cores ('{MAX_CPU_CORES * 100}%'); give e.g. '200%'")
    return cores


class ManifestProblem(Base, frozen=True):
    """One thing wrong with a manifest: where (TOML path), what was expected, what was found, how to fix it."""

    path: str
    expected: str
    found: str
    fix: str = ""
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.path or "manifest"
        if self.line is not None:
            where += f" (line {self.line}, column {self.column})"
        fix = f" {self.fix}" if self.fix else ""
        return f"{where}: expected {self.expected}, found {self.found}.{fix}"


class ExtensionInfo(Base, frozen=True):
    """``[extension]``: who it is; ``publisher`` is what a distribution policy may trust."""

    name: ExtensionName
    version: Annotated[str, msgspec.Meta(pattern=SEMVER_PATTERN)]
    type: ExtensionType
    author: str
    description: str = ""
    publisher: str | None = None
    license: str | None = None
    homepage: str | None = None


class Dependencies(Base, frozen=True):
    """``[dependencies]``: the Symphony API range and other extensions' version ranges.

    The API range's key is ``symphony``; the seed's ``symphony-core`` is accepted as an alias.

    In TOML it is one flat table (``symphony = "^1.0"``, ``other-extension = "^2.1"``);
    here the API range is split from the extension ranges.
    """

    symphony: str = "*"
    extensions: dict[str, str] = msgspec.field(default_factory=dict)


class Resources(Base, frozen=True):
    """``[resources]``: limits the runtimes enforce; ``timeout`` is wall-clock seconds per invocation."""

    memory_limit: str = "1GiB"
    cpu_limit: str = "100%"
    gpu_required: bool = False
    timeout: Annotated[float, msgspec.Meta(gt=0)] = 60.0

    def memory_bytes(self) -> int:
        return parse_memory(self.memory_limit)

    def cpu_cores(self) -> float:
        return parse_cpu(self.cpu_limit)


class ConfigField(Base, frozen=True):
    """One ``[configuration]`` field: its type and constraints.

    ``min``/``max`` bound a number's value, or a string's or list's length.
    A ``secret`` field is a string given by the user's environment or secrets
    file, never by the manifest or the settings file.
    """

    type: ConfigType
    required: bool = False
    default: Any = None
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None
    secret: bool = False
    description: str = ""


class Runtime(Base, frozen=True):
    """``[runtime]``: how the extension runs.

    ``entry`` is ``module:callable`` for python and subprocess, or a path to a
    ``.wasm``/``.wat`` file (core module or component) relative to the package
    for wasm.  ``python_dependencies`` (subprocess and mcp) are installed into the
    extension's own virtual environment; each is a name and version specifiers
    from the package index, never a direct reference or a pip option (the host
    checks that, when validating and again when installing).

    An ``mcp`` extension is an MCP server spoken to over its stdio: ``command``
    is its argv (``argv[0]`` found in the extension's environment first), or
    ``entry`` a ``module:callable`` that serves it; exactly one of the two.
    """

    kind: RuntimeKind
    entry: str = ""
    python_dependencies: tuple[str, ...] = ()
    command: tuple[str, ...] = ()


class ContributedNode(Base, frozen=True):
    """An instrument or operator the extension offers to workflows; ``entry`` names it inside the extension."""

    name: str
    description: str = ""
    inputs: dict[str, PortSpec] = msgspec.field(default_factory=dict)
    outputs: dict[str, PortSpec] = msgspec.field(default_factory=dict)
    entry: str | None = None
    models: tuple[str, ...] = ()


class Contributes(Base, frozen=True):
    """``[contributes]``: ``[[contributes.instruments]]`` and ``[[contributes.operators]]``."""

    instruments: tuple[ContributedNode, ...] = ()
    operators: tuple[ContributedNode, ...] = ()


class Manifest(Base, frozen=True):
    """A whole ``symphony-extension.toml``."""

    schema_version: int
    extension: ExtensionInfo
    runtime: Runtime
    capabilities: Capabilities = Capabilities()
    dependencies: Dependencies = Dependencies()
    resources: Resources = Resources()
    configuration: dict[str, ConfigField] = msgspec.field(default_factory=dict)
    contributes: Contributes = Contributes()

    @property
    def name(self) -> str:
        return self.extension.name

    def secret_fields(self) -> tuple[str, ...]:
        return tuple(name for name, spec in self.configuration.items() if spec.secret)


class Secret:
    """A secret configuration value: shown as ``***`` by repr, str, format and JSON encoders.

    Only :meth:`reveal` gives the value, so printing, logging or serialising a
    resolved configuration never leaks it.  Pickling is refused so that a
    secret is not shipped to another process by accident: pass ``reveal()``
    explicitly where a runtime must hand it to its extension.
    """

    __slots__ = ("_value",)

    REDACTED: Final = "***"

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return self.REDACTED

    def __format__(self, spec: str) -> str:
        return self.REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __reduce__(self) -> Any:
        raise TypeError(
            "Secret values are not pickled; pass secret.reveal() explicitly to the one extension it is for."
        )

    @staticmethod
    def enc_hook(value: Any) -> Any:
        """A msgspec ``enc_hook`` that writes secrets as ``"***"``."""
        if isinstance(value, Secret):
            return Secret.REDACTED
        raise NotImplementedError(f"Objects of type {type(value).__name__} are not supported")
