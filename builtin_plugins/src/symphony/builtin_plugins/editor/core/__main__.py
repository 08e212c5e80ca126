"""``python -m symphony.builtin_plugins.editor.core``: how the bridge starts the core (no CLI import cost)."""

from symphony.builtin_plugins.editor.core.server import main

raise SystemExit(main())
