"""The parent package of a dotted extension entry point: importing it fails, so discovery must not."""

raise RuntimeError("ext_nested_pkg must not be imported by discovery")
