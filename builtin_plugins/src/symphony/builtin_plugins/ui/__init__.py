"""``symphony ui``: the web console, served by the data service's ASGI stack with its tokens and roles."""
