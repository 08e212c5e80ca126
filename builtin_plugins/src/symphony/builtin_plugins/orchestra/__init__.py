"""The built-in Orchestra Kit: deterministic operators that work offline."""
