"""A tiny module used as a loader fixture."""


def greet(name: str) -> str:
    return f"Hello, {name}!"
