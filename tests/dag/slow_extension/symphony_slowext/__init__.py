"""A subprocess extension whose operator never finishes on its own: for Ctrl-C tests."""
