"""The extension registry: a private index, a signed catalogue over it, and verified installs.

Extensions are ordinary Python distributions on a PEP 503 index; the
registry's TUF metadata (PEP 458) signs what the index holds and each
extension's manifest, so search, install and update can trust both.  See
``docs/registry.md``.
"""
