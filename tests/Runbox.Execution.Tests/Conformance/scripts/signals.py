import os
import signal

print("SIGINT", signal.getsignal(signal.SIGINT) is signal.default_int_handler)
print("SIGTERM", signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)
print("SIGPIPE", signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN)
os.kill(os.getpid(), signal.SIGTERM)
