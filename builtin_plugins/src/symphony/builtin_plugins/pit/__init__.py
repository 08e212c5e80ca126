"""The Pit's builtin components; each arrives as its own plugin module."""
