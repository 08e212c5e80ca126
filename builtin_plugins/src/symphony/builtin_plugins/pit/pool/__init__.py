"""The Pool Manager: models loaded in worker processes, kept hot in an LRU, replaced when a worker dies."""
