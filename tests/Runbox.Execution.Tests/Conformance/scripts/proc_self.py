# A process reads its own /proc files, as any Python process may.
for name in ("environ", "maps", "status", "cmdline"):
    with open("/proc/self/" + name, "rb") as f:
        print(name, len(f.read()) > 0)
