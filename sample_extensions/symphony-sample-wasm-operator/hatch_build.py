"""Wheel build hook: compile guest/notes_operator.py into notes_operator.wasm (see symphony.sandbox.wasm.hatch_hook)."""

from symphony.sandbox.wasm.hatch_hook import ComponentBuildHook

__all__ = ["ComponentBuildHook"]
