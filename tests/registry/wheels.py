"""Valid, installable extension wheels built in milliseconds (zipfile, no build backend), for registry tests."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

__all__ = ["make_extension_wheel", "manifest_text"]

_WHEEL = b"Wheel-Version: 1.0\nGenerator: registry-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n\n"
_HANDLER = '''"""A tiny handler: echoes its input."""

from collections.abc import Mapping
from typing import Any


def handle(operation: str, input: Mapping[str, Any]) -> dict[str, Any]:
    return {"echo": str(input.get("text", ""))}
'''


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def manifest_text(
    *,
    extension: str,
    version: str,
    publisher: str | None,
    capabilities: Mapping[str, Any] | None = None,
    runtime: str = "subprocess",
    symphony_api: str = "^1.0",
    module: str,
) -> str:
    """A ``symphony-extension.toml`` that ``symphony ext validate`` accepts: one instrument, ``echo``."""
    lines = [
        "schema_version = 1",
        "",
        "[extension]",
        f'name = "{extension}"',
        f'version = "{version}"',
        'type = "instrument"',
        'author = "Registry Tests"',
        *([f"publisher = {_toml_value(publisher)}"] if publisher is not None else []),
        f'description = "Echoes its input ({extension} {version})."',
        'license = "MIT"',
        "",
        "[capabilities]",
        *(f"{key} = {_toml_value(value)}" for key, value in (capabilities or {}).items()),
        "",
        "[dependencies]",
        f'symphony = "{symphony_api}"',
        "",
        "[resources]",
        'memory_limit = "64MiB"',
        "timeout = 5.0",
        "",
        "[runtime]",
        f'kind = "{runtime}"',
        f'entry = "{module}.handler:handle"',
        "",
        "[[contributes.instruments]]",
        'name = "echo"',
        'description = "Returns its text."',
        'inputs = { text = { type = "string" } }',
        'outputs = { echo = { type = "string" } }',
        'entry = "echo"',
        "",
    ]
    return "\n".join(lines)


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return f"{path},sha256={digest},{len(data)}"


def make_extension_wheel(
    directory: Path,
    *,
    distribution: str,
    version: str,
    extension: str,
    publisher: str | None,
    capabilities: Mapping[str, Any] | None = None,
    runtime: str = "subprocess",
    symphony_api: str = "^1.0",
    requires_dist: Iterable[str] = (),
    manifest: str | None = None,
) -> Path:
    """Write ``<distribution>-<version>-py3-none-any.whl`` into ``directory`` and return its path.

    ``manifest`` replaces the generated manifest text (for tests of a bad or
    mismatched one).
    """
    module = canonicalize_name(distribution).replace("-", "_")
    stem = f"{module}-{version}"
    dist_info = f"{stem}.dist-info"
    text = manifest or manifest_text(
        extension=extension,
        version=version,
        publisher=publisher,
        capabilities=capabilities,
        runtime=runtime,
        symphony_api=symphony_api,
        module=module,
    )
    metadata = "\n".join(
        [
            "Metadata-Version: 2.1",
            f"Name: {distribution}",
            f"Version: {version}",
            "Requires-Python: >=3.11",
            *(f"Requires-Dist: {requirement}" for requirement in requires_dist),
            "",
            "",
        ]
    )
    files: dict[str, bytes] = {
        f"{module}/__init__.py": b"",
        f"{module}/handler.py": _HANDLER.encode(),
        f"{module}/symphony-extension.toml": text.encode(),
        f"{dist_info}/METADATA": metadata.encode(),
        f"{dist_info}/WHEEL": _WHEEL,
        f"{dist_info}/entry_points.txt": f"[symphony.extensions]\n{extension} = {module}\n".encode(),
    }
    record = [_record_line(path, data) for path, data in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
    return path
