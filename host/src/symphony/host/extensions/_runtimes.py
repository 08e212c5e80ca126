"""The extension runtimes plugins contribute (``symphony_extension_runtimes``), built when first used.

The host imports no runtime: the ``sandbox`` plugin of ``symphony-sandbox``
contributes ``python``, ``subprocess`` and ``wasm``, and a distribution may
contribute its own instead.  Which kinds may run at all is still the host's
policy (``python`` for trusted extensions, the others when listed in
``sandbox.runtimes``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping

from symphony.hookspecs import ExtensionError
from symphony.hookspecs.ports import HostContext
from symphony.hookspecs.runtimes import Runtime, RuntimeSpec

__all__ = ["ContributedRuntimes"]

HOOK = "symphony_extension_runtimes"


class ContributedRuntimes(Mapping[str, Runtime]):
    """The allowed runtime kinds that some plugin contributes, each built on first use and kept."""

    def __init__(self, context: HostContext, allowed: Collection[str]) -> None:
        self._context = context
        self._specs: dict[str, tuple[str, RuntimeSpec]] = {
            kind: found for kind, found in context.contributions(HOOK).items() if kind in allowed
        }
        self._built: dict[str, Runtime] = {}

    def __getitem__(self, kind: str) -> Runtime:
        if kind not in self._built:
            try:
                plugin, spec = self._specs[kind]
            except KeyError:
                raise ExtensionError(_missing(kind)) from None
            runtime = spec.factory(self._context)
            if getattr(runtime, "kind", None) != kind or not callable(getattr(runtime, "start", None)):
                raise ExtensionError(
                    f"Plugin {plugin!r} contributes the {kind} runtime through {HOOK}, but its factory gave"
                    f" {type(runtime).__name__}, which is not a Runtime of kind {kind!r} (it needs 'kind' and"
                    " 'start'); fix or block that plugin."
                )
            self._built[kind] = runtime
        return self._built[kind]

    def __contains__(self, kind: object) -> bool:
        """Whether a plugin offers ``kind`` (without building it, unlike Mapping's default)."""
        return kind in self._specs

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)


def _missing(kind: str) -> str:
    """Why an extension of ``kind`` cannot run here, and how to get its runtime."""
    return (
        f"No plugin provides the {kind!r} extension runtime. Install symphony-sandbox (pip install"
        f" symphony-sandbox), which contributes it, or a plugin that contributes {kind!r} through {HOOK};"
        " 'symphony plugins list' shows what is loaded."
    )
