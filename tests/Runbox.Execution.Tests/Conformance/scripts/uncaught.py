def inner():
    raise ValueError("bad value")

print("start")
inner()
