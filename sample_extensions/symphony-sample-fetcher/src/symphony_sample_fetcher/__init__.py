"""A sample untrusted instrument: asks one HTTP endpoint through the host (see ``fetch``)."""
