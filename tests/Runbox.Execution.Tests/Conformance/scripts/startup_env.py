# Variables read at interpreter start: PYTHONPATH (sys.path), PYTHONOPTIMIZE (asserts), PYTHONHASHSEED (str hashes).
import sys

print([p for p in sys.path if p.endswith("extra")], sys.flags.optimize, sys.flags.hash_randomization)
try:
    assert False
    print("asserts stripped")
except AssertionError:
    print("asserts kept")
print(hash("runbox"))
