"""The extension index: search, versions and compatibility, install through pip.

Arrives with the extensions work; the distribution exists now so that the
workspace layout, and what depends on what, is fixed from the start.
"""
