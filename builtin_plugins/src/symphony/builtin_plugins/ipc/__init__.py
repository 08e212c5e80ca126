"""The builtin IPC plugins: codecs (transports and the bus arrive with the IPC work)."""
