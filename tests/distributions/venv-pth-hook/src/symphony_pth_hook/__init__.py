"""Nothing: the attack is the .pth file installed beside this package."""
