"""The builtin data layer (SQLite by default); the service arrives with the data-layer work."""
