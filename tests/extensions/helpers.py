"""Manifests as text, and extension distributions written by hand into a site directory."""

from __future__ import annotations

from pathlib import Path

#: A valid manifest exercising every section; tests change one thing at a time.
VALID = """\
schema_version = 1

[extension]
name = "{name}"
version = "1.2.3"
type = "operator"
author = "Tests"

[capabilities]
file_access = ["read:config"]

[dependencies]
symphony = "^1.0"

[resources]
memory_limit = "512MiB"

[configuration]
top = {{ type = "integer", default = 3, min = 1, max = 10 }}

[runtime]
kind = "python"
entry = "{package}.main:run"

[[contributes.operators]]
name = "{name}-op"
inputs = {{ text = {{ type = "string" }} }}
outputs = {{ count = {{ type = "integer" }} }}
"""


def manifest_text(name: str = "demo-ext", package: str = "demo_ext") -> str:
    return VALID.format(name=name, package=package)


def write_extension(site: Path, name: str, manifest: str | None = None, *, version: str = "1.0") -> Path:
    """Install-by-hand one extension distribution into ``site`` (dist-info, package, manifest); its package dir."""
    package = name.replace("-", "_")
    package_dir = site / package
    package_dir.mkdir(parents=True, exist_ok=True)
    (package_dir / "__init__.py").write_text("raise RuntimeError('never imported')\n", encoding="utf-8")
    (package_dir / "symphony-extension.toml").write_text(
        manifest if manifest is not None else manifest_text(name, package), encoding="utf-8"
    )
    info = site / f"{package}-{version}.dist-info"
    info.mkdir(exist_ok=True)
    files = {
        "METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        "entry_points.txt": f"[symphony.extensions]\n{name} = {package}\n",
    }
    for file_name, text in files.items():
        (info / file_name).write_text(text, encoding="utf-8")
    (info / "RECORD").write_text(
        "".join(f"{f},,\n" for f in (f"{package}/__init__.py", f"{package}/symphony-extension.toml", *files)),
        encoding="utf-8",
    )
    return package_dir
