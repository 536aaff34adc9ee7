"""Masking of secret values in what a run leaves behind: pure functions, no database.

Only exact occurrences of each value are replaced; a script that prints a secret transformed
(reversed, encoded) is not caught. Masking is the safety net, not the permission.
"""

from collections.abc import Mapping

PLACEHOLDER = "[secret {name}]"


def _ordered(values: Mapping[str, str]) -> list[tuple[str, str]]:
    # Longer values first, so that a value holding another is masked whole.
    return sorted(
        ((name, value) for name, value in values.items() if value),
        key=lambda item: len(item[1]),
        reverse=True,
    )


def mask(text: str, values: Mapping[str, str]) -> str:
    """`text` with every occurrence of each value (name -> value) replaced by `[secret NAME]`."""
    if not text or not values:
        return text
    for name, value in _ordered(values):
        if value in text:
            text = text.replace(value, PLACEHOLDER.format(name=name))
    return text


def mask_json(data, values: Mapping[str, str]):
    """`data` (decoded JSON) with `mask` applied to every string in it, keys included."""
    if not values:
        return data
    if isinstance(data, str):
        return mask(data, values)
    if isinstance(data, list):
        return [mask_json(item, values) for item in data]
    if isinstance(data, dict):
        return {mask(key, values): mask_json(item, values) for key, item in data.items()}
    return data


def mask_growing(text: str, values: Mapping[str, str]) -> str:
    """`mask` for output that is still being written: also holds back the end of `text` when it
    could be the start of a value (a secret printed in two writes never shows half of it).

    What it returns for a text is a prefix of what it returns once the text has grown, so
    readers following the output by offset never see it change behind them.
    """
    text = mask(text, values)
    held = 0
    for _, value in _ordered(values):
        for length in range(min(len(value) - 1, len(text)), held, -1):
            if text.endswith(value[:length]):
                held = length
                break
    return text[: len(text) - held] if held else text
