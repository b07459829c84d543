import atexit
import sys

atexit.register(lambda: print("second registered, runs first"))
atexit.register(print, "handler with args", 1, 2)
print("main done")
sys.exit(2)
