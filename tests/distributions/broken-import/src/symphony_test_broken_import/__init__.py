"""A plugin that cannot be imported.

Before failing it leaves a marker file in ``$IMPORT_MARKER_DIR`` (when set),
so a test can tell whether the host imported it at all.
"""

import os
from pathlib import Path

_markers = os.environ.get("IMPORT_MARKER_DIR")
if _markers:
    Path(_markers, "broken-import.imported").touch()

raise ImportError("symphony_test_broken_import needs libfrobnicate, which is not installed")
