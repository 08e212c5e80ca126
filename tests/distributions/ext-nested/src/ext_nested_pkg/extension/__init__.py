raise RuntimeError("ext_nested_pkg.extension must not be imported by discovery")
