import threading
import time

def worker():
    time.sleep(0.2)
    print("worker finished after main")

threading.Thread(target=worker).start()
print("main returns")
