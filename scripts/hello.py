"""Say hello

A friendly greeting anyone signed in may run: the smallest script there is.
"""

POLICY = "authenticated"
TIMEOUT_SECONDS = 10
MEMORY_MB = 128


def main(name: str = "colleague", excited: bool = False) -> dict:
    """Greet someone.

    Args:
        name: Name. Who to greet.
        excited: Excited. End with an exclamation mark.
    """
    greeting = f"Hello, {name}{'!' if excited else '.'}"
    print(greeting)
    return {"greeting": greeting}
