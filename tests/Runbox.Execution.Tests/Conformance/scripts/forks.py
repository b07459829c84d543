import os
import sys
import time

# A child forked by the script ends the way a script does; only the job's own process ending ends the job.
how = sys.argv[1]
pid = os.fork()
if pid == 0:
    print("child", how, flush=True)
    if how == "exit":
        sys.exit(7)
    # "fallthrough": the child runs on to the end of the script, as its parent does
else:
    _, status = os.waitpid(pid, 0)
    time.sleep(0.1)  # were the job ended by its child, it would be gone by now
    print("parent saw", status >> 8, flush=True)
