"""A 'language server' that answers anything with a header announcing a message of about a terabyte."""

import sys
import time

sys.stdout.buffer.write(b"Content-Length: 1099511627776\r\n\r\n")
sys.stdout.buffer.flush()
time.sleep(60)
