"""``registry_install``: resolve + verify + install of a small extension, against plain ``pip install`` of it.

A real ``symphony registry serve`` on loopback holds one signed extension
wheel; a throwaway venv (``venv --without-pip``, the project's packages
behind its own through a ``.pth``) is pointed at it with ``symphony
registry use``.  Measured: the whole command ``symphony ext install NAME
--yes`` run in that venv (host start, TUF refresh, resolve, TUF download,
signature and pin checks, squatting check, consent, the installer, the
verification file, the grant), with ``--installer uv`` and ``--installer
pip``, each followed (untimed) by ``symphony ext uninstall``; and ``api_<tool>``: a
Python process that does only resolve + verify + install through the API
(``open_index``, ``refresh``, ``resolve``, ``install_release``), without the
host's start-up, plugin loading and grant.

Baseline, in the same run: ``pip install NAME`` of the same wheel from the
same server's simple index (``--index-url``), into the same venv, then
``pip uninstall`` (untimed).  Records ``registry_install.<uv|pip|api_uv|api_pip>``
in ms, medians; goal: ≤ 1.2x the baseline, and with uv faster than it.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Final

import httpx
import msgspec

from benchmarks.registry_sync import serve
from benchmarks.run import Record, record
from symphony.registry import signing
from symphony.registry.server.repository import Repository
from symphony.registry.wheels import read_wheel
from tests.registry.install_venv import make_venv

__all__ = ["run"]

NAME: Final = "bench-echo"
PUBLISHER: Final = "Bench Labs"
_SYMPHONY: Final = Path(sys.executable).parent / "symphony"
#: resolve + verify + install through the Python API, without the host: ``python -c _API DATA_DIR TOOL``.
_API: Final = """
import sys
from pathlib import Path
from symphony.hookspecs import PermissionPolicy
from symphony.registry.client import open_index
from symphony.registry.install.operations import Request, install_release
with open_index(Path(sys.argv[1])) as index:
    index.refresh()
    release = index.resolve("bench-echo")
    request = Request(python=Path(sys.executable), policy=PermissionPolicy(), yes=True, installer=sys.argv[2])
    install_release(index, release, request, grant=lambda name, permissions: None, action="install")
"""
_MANIFEST: Final = f"""schema_version = 1

[extension]
name = "{NAME}"
version = "1.0.0"
type = "instrument"
author = "{PUBLISHER}"
publisher = "{PUBLISHER}"
description = "Echoes its input."
license = "MIT"

[capabilities]
network_access = ["api.example.com"]

[dependencies]
symphony = "^1.0"

[runtime]
kind = "subprocess"
entry = "bench_echo.handler:handle"

[[contributes.instruments]]
name = "echo"
description = "Returns its text."
inputs = {{ text = {{ type = "string" }} }}
outputs = {{ echo = {{ type = "string" }} }}
entry = "echo"
"""


def _wheel(directory: Path) -> Path:
    """The extension's wheel, written with zipfile (RECORD without hashes is accepted by both installers)."""
    dist_info = "bench_echo-1.0.0.dist-info"
    files = {
        "bench_echo/__init__.py": b"",
        "bench_echo/handler.py": b"def handle(operation, input):\n    return {'echo': str(input.get('text', ''))}\n",
        "bench_echo/symphony-extension.toml": _MANIFEST.encode(),
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {NAME}\nVersion: 1.0.0\n\n".encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n\n",
        f"{dist_info}/entry_points.txt": f"[symphony.extensions]\n{NAME} = bench_echo\n".encode(),
    }
    files[f"{dist_info}/RECORD"] = "".join(f"{path},,\n" for path in [*files, f"{dist_info}/RECORD"]).encode()
    path = directory / "bench_echo-1.0.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return path


def _publish(directory: Path, url: str, wheel: Path, keys: Path) -> None:
    key = signing.generate_key()
    Repository.open(directory).add_publisher_key(PUBLISHER, signing.public_text(key))
    data = {":action": "file_upload", "protocol_version": "1", "filetype": "bdist_wheel"}
    with wheel.open("rb") as handle:
        httpx.post(url, data=data, files={"content": (wheel.name, handle)}, timeout=60).raise_for_status()
    signature = signing.sign(key, read_wheel(wheel).statement())
    httpx.post(f"{url}symphony/signatures", content=msgspec.json.encode(signature), timeout=60).raise_for_status()
    signing.save_private_key(key, keys / "bench.pem")


def _run(command: list[str], env: dict[str, str]) -> float:
    """Seconds ``command`` took; RuntimeError with its output when it fails."""
    started = time.perf_counter()
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL, check=False
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])}... failed:\n{result.stdout}\n{result.stderr}")
    return elapsed


def run(quick: bool) -> list[Record]:
    rounds = 3 if quick else 7
    with tempfile.TemporaryDirectory(prefix="bench-registry-install-") as temporary:
        root = Path(temporary)
        subprocess.run(
            [_SYMPHONY, "registry", "init", str(root / "index")], check=True, capture_output=True, timeout=120
        )
        server, url = serve(root / "index")
        try:
            (root / "wheels").mkdir()
            (root / "keys").mkdir()
            _publish(root / "index", url, _wheel(root / "wheels"), root / "keys")
            venv = make_venv(root / "venv")
            python, env, symphony = venv.python, venv.environ(), venv.command()
            _run([*symphony, "registry", "use", url, "--root", str(root / "index" / "root.json")], env)
            pip = [sys.executable, "-m", "pip", "--python", str(python)]
            plain = [
                *pip,
                "install",
                "--disable-pip-version-check",
                "--no-cache-dir",
                "--index-url",
                f"{url}simple/",
                NAME,
            ]
            times: dict[str, list[float]] = {"plain": [], "uv": [], "pip": [], "api_uv": [], "api_pip": []}
            for _ in range(rounds):
                times["plain"].append(_run(plain, env))
                _run([*pip, "uninstall", "--yes", NAME], env)
                for tool in ("uv", "pip"):
                    times[tool].append(_run([*symphony, "ext", "install", NAME, "--yes", "--installer", tool], env))
                    _run([*symphony, "ext", "uninstall", NAME, "--yes"], env)
                    times[f"api_{tool}"].append(_run([str(python), "-c", _API, env["SYMPHONY_DATA_DIR"], tool], env))
                    _run([*pip, "uninstall", "--yes", NAME], env)
        finally:
            server.terminate()
            server.wait(timeout=30)
            shutil.rmtree(root / "venv", ignore_errors=True)
    baseline = statistics.median(times["plain"]) * 1000
    what = f"plain `pip install {NAME}` from the same index into the same venv (median of {rounds})"
    return [
        record(
            f"registry_install.{variant}",
            statistics.median(times[variant]) * 1000,
            "ms",
            what,
            baseline,
            seed_target="uv resolves here in ~0.7 s vs ~5 s for pip",
            goal="<= 1.2x plain pip install" + ("; faster than it" if variant.endswith("uv") else ""),
        )
        for variant in ("uv", "pip", "api_uv", "api_pip")
    ]
