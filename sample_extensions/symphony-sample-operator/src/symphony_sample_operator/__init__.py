"""A sample trusted operator extension; the host reads its manifest without importing this package."""
