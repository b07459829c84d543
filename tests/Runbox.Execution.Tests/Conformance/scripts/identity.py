import os
import sys

import helper

print(__name__)
print(os.path.basename(__file__))
print(sys.argv[1:])
print(os.path.samefile(sys.path[0], os.path.dirname(os.path.abspath(__file__))))
print(helper.greet("sibling"))
print(__spec__, __package__)
print(sorted(k for k in globals() if k.startswith("__")))
