"""Which published scripts declare which secrets: answered by the app that owns scripts.

The vault is a lower app and never imports scripts_api; scripts_api registers its answer here
when it starts (`scripts_api.apps`), so that imports keep pointing down.
"""

from collections.abc import Callable, Iterable

_provider: Callable[[Iterable[str]], dict[str, list[str]]] | None = None


def register(provider: Callable[[Iterable[str]], dict[str, list[str]]]) -> None:
    """Set the function: secret names -> slugs of the published scripts declaring them."""
    global _provider
    _provider = provider


def declared_by(names: Iterable[str]) -> dict[str, list[str]]:
    """Secret name -> slugs of the published scripts that declare it (empty without a provider)."""
    names = list(names)
    found = _provider(names) if _provider is not None else {}
    return {name: sorted(found.get(name, [])) for name in names}
