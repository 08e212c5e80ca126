"""Installing extensions from the registry, verified and consented: ``symphony ext install|update|uninstall``."""
