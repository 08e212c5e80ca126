"""Isolated runtimes for untrusted extensions, contributed to the host by the ``sandbox`` plugin.

In-process (trusted only), confined subprocess and Wasmtime; the host reaches
them only through ``symphony_extension_runtimes`` (see :mod:`.plugin`), and
``symphony doctor`` reports the kernel's confinement mechanisms (:mod:`.probe`).
"""
