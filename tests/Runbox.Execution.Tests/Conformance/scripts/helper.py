def greet(name):
    return "hello from " + name
