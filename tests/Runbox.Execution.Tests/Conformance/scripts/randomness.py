import os
import random

print(random.random(), os.urandom(4).hex())
