"""Wheel build hook: compile the hostile wasm guest into hostile_guest.wasm (see symphony.sandbox.wasm.hatch_hook)."""

from symphony.sandbox.wasm.hatch_hook import ComponentBuildHook

__all__ = ["ComponentBuildHook"]
