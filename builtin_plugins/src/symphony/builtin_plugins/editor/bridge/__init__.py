"""The bridge to the editor-core process: its client, its supervisor, the host's resync state, and the port over them.

See docs/editor.md, "The bridge" and "Sync design".
"""
