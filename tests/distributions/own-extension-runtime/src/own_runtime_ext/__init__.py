"""An extension whose manifest asks for the subprocess runtime; its code never runs under the recording runtime."""
