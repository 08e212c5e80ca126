"""One module per resource; each lists its ``(method, path, handler)`` routes in ``ROUTES``."""
