"""The hostile extension as a wasm component (``ext-hostile-wasm``); its guest is ``guest/hostile_guest.py``."""
