import sys

print("complete line")
sys.stdout.write("no newline at the end")
sys.stderr.write("stderr partial")
