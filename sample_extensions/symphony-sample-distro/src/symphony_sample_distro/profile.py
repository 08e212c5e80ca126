"""The ``sample`` distribution profile (entry point group ``symphony.distros``)."""

from __future__ import annotations

from symphony.hookspecs import DistroProfile

__all__ = ["PROFILE"]

PROFILE = DistroProfile(
    name="sample",
    description="A journaling editor instead of the builtin one, shorter timeouts, a strict sandbox.",
    # The builtin editor is never imported; ours provides the port instead.
    block=("editor",),
    providers={"text_editing": "sample-editor"},
    # Defaults only: symphony.toml, SYMPHONY_* variables and --set still override them.
    settings={"hooks": {"timeout": 5.0}},
    sandbox={"policy": "strict"},
)
