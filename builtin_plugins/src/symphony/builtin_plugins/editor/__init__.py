"""The builtin text-editing provider: in-memory buffers over local files."""
