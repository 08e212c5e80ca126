"""``symphony registry serve``: a private PEP 503 index (pypiserver) whose contents are signed with TUF (PEP 458).

:mod:`.repository` keeps the TUF metadata (roles, keys, hash bins, rotation),
:mod:`.app` is the WSGI application, :mod:`.commands` the CLI.
"""
