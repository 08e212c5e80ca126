"""The builtin language provider: real language servers over stdio, kept in sync with the editor's buffers."""
