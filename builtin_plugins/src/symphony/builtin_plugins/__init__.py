"""Symphony's default plugins.

Each subpackage is one component, registered under the ``symphony.plugins``
entry-point group exactly as a third party's plugin would be, and importing
only ``symphony.hookspecs``.  Provider hooks use ``trylast=True`` so that any
installed replacement wins without configuration.
"""
