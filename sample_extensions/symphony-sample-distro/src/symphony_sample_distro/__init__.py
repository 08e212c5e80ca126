"""A sample Symphony distribution: a profile plus a journaling text editor.

- :mod:`symphony_sample_distro.profile`: the ``sample`` distribution profile.
- :mod:`symphony_sample_distro.editor`: the ``sample-editor`` plugin.
- :mod:`symphony_sample_distro.journal`: the editor itself, usable without a host.

Everything here imports only ``symphony.hookspecs``, the SDK.
"""

from .journal import JournalEntry, JournalingEditor

__all__ = ["JournalEntry", "JournalingEditor"]
