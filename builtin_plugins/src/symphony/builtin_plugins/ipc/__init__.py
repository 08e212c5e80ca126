"""The builtin IPC plugins: envelope codecs, framing and handshake, transports, the in-process bus."""
