"""Proves the host never imports an extension to list or validate it: importing this leaves a marker and fails."""

import os
from pathlib import Path

marker = os.environ.get("EXT_MARKER_FILE")
if marker:
    Path(marker).write_text("ext_marker was imported\n", encoding="utf-8")
raise RuntimeError("ext_marker must not be imported by discovery")
