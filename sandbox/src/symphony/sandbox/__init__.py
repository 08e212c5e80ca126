"""Isolated runtimes for untrusted extensions.

What is here now: a probe of the kernel's confinement mechanisms, reported by
``symphony doctor``, which the subprocess runtime will rely on.
"""
