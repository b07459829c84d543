import sys
form = sys.argv[1]
print("before exit", form)
if form == "none":
    sys.exit()
if form == "zero":
    sys.exit(0)
if form == "three":
    sys.exit(3)
if form == "wrap":
    sys.exit(256 + 5)
if form == "negative":
    sys.exit(-1)
if form == "message":
    sys.exit("a message for stderr")
if form == "true":
    raise SystemExit(True)
if form == "builtin":
    exit(4)
if form == "fallthrough":
    pass
