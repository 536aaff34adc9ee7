"""Say hello

A friendly greeting anyone signed in may run: the smallest script there is.
"""

POLICY = "authenticated"
TIMEOUT_SECONDS = 10
MEMORY_MB = 128


def main(name: str = "colleague", excited: bool = False) -> dict:
    greeting = f"Hello, {name}{'!' if excited else '.'}"
    print(greeting)
    return {"greeting": greeting}
