"""Operators that touch the outside: ``http-request``, ``file-read`` and ``file-write``.

Files are confined to a root directory (``config.root``, else
``[components.orchestra.options] workspace``, else the working directory):
a path that resolves outside it, through ``..`` or a symlink, is refused.
Writes are atomic (a temporary file renamed into place).  These are builtin,
trusted operators; extensions reach files and the network only through the
permission checker.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from symphony.hookspecs import NetworkError, NotFoundError, ValidationError, atomic_write

from .operators import Run

__all__ = ["confined_path", "file_read", "file_write", "http_request", "root_of"]

_METHODS: Final = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
_MAX_READ: Final = 64 * 1024 * 1024


def http_request(config: Mapping[str, Any]) -> Run:
    """``config.method`` (GET), ``config.url`` or input ``url``, ``config.headers``, ``config.timeout`` (30 s)."""
    method = str(config.get("method", "GET")).upper()
    if method not in _METHODS:
        raise ValidationError(
            f"Operator 'http-request' config.method must be one of {', '.join(_METHODS)}; got {method!r}."
        )
    headers = config.get("headers", {})
    if not isinstance(headers, Mapping) or not all(isinstance(v, str) for v in headers.values()):
        raise ValidationError("Operator 'http-request' config.headers must be a table of strings.")
    timeout = config.get("timeout", 30.0)
    if not isinstance(timeout, int | float) or timeout <= 0:
        raise ValidationError(f"Operator 'http-request' config.timeout must be > 0 seconds; got {timeout!r}.")
    fixed_url = config.get("url")

    async def run(inputs: Mapping[str, Any]) -> dict[str, Any]:
        url = inputs.get("url") or fixed_url
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValidationError(
                f"Operator 'http-request' needs an http(s) URL in input 'url' or config.url; got {url!r}."
            )
        body = inputs.get("body")
        content = body.encode() if isinstance(body, str) else None
        payload = None if body is None or isinstance(body, str) else body
        import httpx  # on first use: loading the plugin must stay cheap

        try:
            async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client:
                response = await client.request(method, url, headers=dict(headers), content=content, json=payload)
        except httpx.TimeoutException:
            raise NetworkError(f"{method} {url} got no answer within {timeout:g} s.") from None
        except httpx.HTTPError as error:
            raise NetworkError(f"{method} {url} failed: {type(error).__name__}: {error}.") from None
        try:
            parsed = response.json()
        except (ValueError, UnicodeDecodeError):
            parsed = None
        return {
            "status": response.status_code,
            "headers": dict(response.headers),
            "text": response.text,
            "json": parsed,
        }

    return run


def root_of(config: Mapping[str, Any], workspace: str | None) -> Path:
    """The directory an operator's paths are confined to: ``config.root``, else the workspace, else the cwd."""
    root = config.get("root", workspace)
    if root is not None and not isinstance(root, str):
        raise ValidationError(f"config.root must be a directory path; got {root!r}.")
    return Path(root or ".").expanduser().resolve()


def confined_path(root: Path, inputs: Mapping[str, Any], operator: str) -> Path:
    """Input ``path`` resolved under ``root``; refused when it resolves outside it (``..``, a symlink)."""
    relative = inputs.get("path")
    if not isinstance(relative, str) or not relative:
        raise ValidationError(f"Operator {operator!r} needs input 'path', a file path; got {relative!r}.")
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise ValidationError(f"Operator {operator!r} refuses {relative!r}: it resolves outside its root {root}.")
    return path


def file_read(workspace: str | None) -> Any:
    def factory(config: Mapping[str, Any]) -> Run:
        root = root_of(config, workspace)
        as_json = bool(config.get("json", False))

        async def run(inputs: Mapping[str, Any]) -> dict[str, Any]:
            path = confined_path(root, inputs, "file-read")
            try:
                if path.stat().st_size > _MAX_READ:
                    raise ValidationError(f"{path} is larger than {_MAX_READ // 2**20} MiB; file-read refuses it.")
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                raise NotFoundError(f"Operator 'file-read': no file {path}.") from None
            except (OSError, UnicodeDecodeError) as error:
                raise ValidationError(f"Operator 'file-read' cannot read {path} as UTF-8 text: {error}.") from None
            if not as_json:
                return {"text": text, "value": None}
            import json  # here, not for every command that loads the plugin (~1.5 ms)

            try:
                return {"text": text, "value": json.loads(text)}
            except json.JSONDecodeError as error:
                raise ValidationError(f"{path} is not JSON: {error}.") from None

        return run

    return factory


def file_write(workspace: str | None) -> Any:
    def factory(config: Mapping[str, Any]) -> Run:
        root = root_of(config, workspace)

        async def run(inputs: Mapping[str, Any]) -> dict[str, Any]:
            path = confined_path(root, inputs, "file-write")
            content = inputs.get("content")
            import json

            text = content if isinstance(content, str) else json.dumps(content, indent=2, ensure_ascii=False)
            data = text.encode("utf-8")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(path, data)
            except OSError as error:
                raise ValidationError(f"Operator 'file-write' cannot write {path}: {error}.") from None
            return {"path": str(path), "bytes": len(data)}

        return run

    return factory
