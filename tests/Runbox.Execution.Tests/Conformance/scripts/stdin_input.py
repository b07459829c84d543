import sys

name = input("name? ")
print("got", name)
rest = sys.stdin.read()
print("rest has", len(rest.splitlines()), "lines")
